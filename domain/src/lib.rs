//! Vigie's domain: the rules of DOMAIN.md as pure, synchronous code.
