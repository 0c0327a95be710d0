//! The PDF's fonts: the readers' built-in Helvetica, or DejaVu Sans Condensed embedded when a text needs it.
//!
//! Helvetica costs nothing (every PDF reader has it) but its encoding, WinAnsi, holds only
//! Western European letters: a Polish, Greek or Cyrillic name would print as "?". A document
//! with such a text embeds DejaVu instead, whole (about 600 KB: printpdf subsets fonts only
//! with its text-layout engine, a large dependency), and draws everything with it, so one
//! page never mixes two typefaces.

use std::sync::LazyLock;

use printpdf::{BuiltinFont, FontId, Mm, ParsedFont, PdfDocument, PdfFont, PdfFontHandle, Pt};

/// Which fonts a whole document draws with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Typeface {
    #[default]
    Builtin,
    Embedded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// A weight of a typeface: what a text is drawn and measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Font {
    typeface: Typeface,
    weight: Weight,
}

/// The fonts' programs, parsed once: the built-in fonts' for their glyph widths, DejaVu's to
/// measure and embed. In the order of `font_index`.
static PARSED: LazyLock<[Option<ParsedFont>; 4]> = LazyLock::new(|| {
    let dejavu = |bytes| ParsedFont::from_bytes(bytes, 0, &mut Vec::new());
    [
        BuiltinFont::Helvetica.get_parsed_font(),
        BuiltinFont::HelveticaBold.get_parsed_font(),
        dejavu(dejavu::sans_condensed::regular()),
        dejavu(dejavu::sans_condensed::bold()),
    ]
});

impl Typeface {
    /// The built-in fonts if they can draw every one of `texts`, DejaVu otherwise.
    pub fn for_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let drawable = |c: char| c.is_control() || win_ansi(c);
        if texts.into_iter().all(|text| text.chars().all(drawable)) { Self::Builtin } else { Self::Embedded }
    }

    pub fn regular(self) -> Font {
        Font { typeface: self, weight: Weight::Regular }
    }

    pub fn bold(self) -> Font {
        Font { typeface: self, weight: Weight::Bold }
    }

    /// Puts the fonts that `Font::handle` names into the document, if it needs any.
    pub fn add_to(self, document: &mut PdfDocument) {
        if self == Self::Builtin {
            return;
        }
        for font in [self.regular(), self.bold()] {
            if let (PdfFontHandle::External(id), Some(parsed)) = (font.handle(), font.parsed()) {
                document.resources.fonts.map.insert(id, PdfFont::new(parsed.clone()));
            }
        }
    }
}

impl Font {
    fn parsed(self) -> Option<&'static ParsedFont> {
        let index = match (self.typeface, self.weight) {
            (Typeface::Builtin, Weight::Regular) => 0,
            (Typeface::Builtin, Weight::Bold) => 1,
            (Typeface::Embedded, Weight::Regular) => 2,
            (Typeface::Embedded, Weight::Bold) => 3,
        };
        PARSED[index].as_ref()
    }

    /// How a page's `SetFont` names this font.
    pub fn handle(self) -> PdfFontHandle {
        match (self.typeface, self.weight) {
            (Typeface::Builtin, Weight::Regular) => PdfFontHandle::Builtin(BuiltinFont::Helvetica),
            (Typeface::Builtin, Weight::Bold) => PdfFontHandle::Builtin(BuiltinFont::HelveticaBold),
            (Typeface::Embedded, weight) => PdfFontHandle::External(FontId(format!("vigie-dejavu-{weight:?}"))),
        }
    }

    /// The width of `s` at `size` points, in millimetres.
    pub fn width(self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.char_width(c, size)).sum()
    }

    /// The width of one character at `size` points, in millimetres.
    fn char_width(self, c: char, size: f32) -> f32 {
        let em = self
            .parsed()
            .and_then(|font| {
                let width = font.get_glyph_width(font.lookup_glyph_index(c as u32)?)?;
                Some(f32::from(width) / f32::from(font.units_per_em.max(1)))
            })
            // About a letter's width, should a glyph be missing from the font.
            .unwrap_or(0.6);
        Mm::from(Pt(em * size)).0
    }

    /// `s`, cut short with an ellipsis if it is wider than `width` millimetres.
    /// One pass over the characters: a shift's comments run to megabytes.
    pub fn fit(self, s: &str, size: f32, width: f32) -> String {
        let room = width - self.char_width('…', size);
        let mut used = 0.0;
        let mut cut_at = None;
        for (index, c) in s.char_indices() {
            used += self.char_width(c, size);
            if cut_at.is_none() && used > room {
                cut_at = Some(index);
            }
            if used > width {
                let cut = &s[..cut_at.unwrap_or(index)];
                return format!("{}…", cut.trim_end());
            }
        }
        s.to_owned()
    }
}

/// Whether the built-in fonts' encoding (WinAnsi, PDF 32000-1 Annex D) has `c`: Latin-1's
/// printable characters, and the typographic ones in its 0x80 to 0x9F.
fn win_ansi(c: char) -> bool {
    matches!(c as u32, 0x20..=0x7E | 0xA0..=0xFF) || "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_fonts_serve_western_european_text_and_dejavu_the_rest() {
        assert_eq!(Typeface::for_texts(["Rémi Côté", "Sœurs — 50 €", "line\nbreak"]), Typeface::Builtin);
        for other in ["Łukasz", "Ψυχή", "Дмитрий", "Nguyễn", "İstanbul"] {
            assert_eq!(Typeface::for_texts(["Rémi Côté", other]), Typeface::Embedded, "{other}");
        }
    }

    #[test]
    fn long_texts_are_cut_to_their_column() {
        for font in [Typeface::Builtin.regular(), Typeface::Embedded.regular()] {
            let long = "A very long comment that goes on and on about who replaces whom and why it matters so much";
            let cut = font.fit(long, 9.0, 40.0);
            assert!(cut.ends_with('…') && cut.len() < long.len(), "{cut}");
            assert!(font.width(&cut, 9.0) <= 40.0);
            assert_eq!(font.fit("Luc Lambert", 9.0, 40.0), "Luc Lambert");
        }
    }
}
