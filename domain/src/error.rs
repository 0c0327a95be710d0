//! Refusals: why a command was turned down, with a stable machine code and the portal's own wording.
//!
//! Nothing here is about storage or transport: these are the rules of DOMAIN.md saying no.

use thiserror::Error;

use crate::ids::{OverrideId, ShiftId};

/// The kinds of thing a command can name that may be missing or already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Account,
    User,
    Contact,
    Schedule,
    Shift,
    Series,
    Override,
    Message,
    Call,
    CalendarFeed,
}

impl Entity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Entity::Account => "account",
            Entity::User => "user",
            Entity::Contact => "contact",
            Entity::Schedule => "schedule",
            Entity::Shift => "shift",
            Entity::Series => "series",
            Entity::Override => "override",
            Entity::Message => "message",
            Entity::Call => "call",
            Entity::CalendarFeed => "calendar feed",
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a refusal maps onto an answer, so the API does not have to list every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The role may not do this (403).
    Forbidden,
    /// Something named does not exist (404).
    NotFound,
    /// It collides with what exists: an overlap, a duplicate (409).
    Conflict,
    /// A rule refuses the command as given (422).
    Rejected,
}

/// A command refused by a rule. `Display` is the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    // --- who may do what
    #[error("Dispatchers and auditors cannot change anything.")]
    ReadOnlyRole,
    #[error("Only the service team can {0}.")]
    OperatorOnly(&'static str),
    #[error("Clients cannot change a shift that has ended.")]
    ShiftEnded,
    #[error("A written reason is required to correct a shift that has ended.")]
    ReasonRequired,
    #[error("A shift that starts in the past changes who was on call: give a written reason.")]
    PastShiftNeedsReason,
    #[error(
        "Clients cannot change who was on call before now. On a shift that has started, add an override \
         that starts now to change who is on call from now on."
    )]
    PastOnCall,
    #[error("This override has already ended; who was on call then stays as it was.")]
    OverrideEnded,
    #[error("This changes who was on call before now: give a written reason.")]
    PastOnCallNeedsReason,
    #[error("You can only change your own password.")]
    NotYourPassword,
    #[error("This calendar feed has been revoked; create a new one.")]
    CalendarFeedRevoked,
    #[error("A calendar feed shows what its creator may see, so you can only create your own.")]
    NotYourCalendarFeed,

    // --- existence
    #[error("This {0} does not exist.")]
    NotFound(Entity),
    #[error("This {0} already exists.")]
    AlreadyExists(Entity),
    #[error("This schedule has been deleted.")]
    ScheduleDeleted,
    #[error(
        "This schedule has a shift running now, which cannot be removed: delete the schedule once that shift has ended."
    )]
    ScheduleHasRunningShift,

    // --- field validation
    #[error("The {0} cannot be empty.")]
    Blank(&'static str),
    #[error("The {field} cannot be longer than {max} characters.")]
    TooLong { field: &'static str, max: usize },
    #[error("The {0} cannot contain control characters (only line breaks and tabs).")]
    ControlCharacter(&'static str),
    #[error("The {0} must fit on one line, without line breaks or tabs.")]
    NotOneLine(&'static str),
    #[error("Unknown time zone: {0}.")]
    UnknownTimeZone(String),
    #[error("A contact has at most three phone numbers.")]
    TooManyPhones,
    #[error("The e-mail address is not valid.")]
    InvalidEmail,
    #[error(
        "A phone number has at least three digits, and only digits, spaces and + - ( ) . /, with an optional extension such as x12."
    )]
    InvalidPhone,
    #[error("A username has only letters, digits, dots, dashes, underscores or @.")]
    InvalidUsername,

    // --- shifts and series
    #[error("The rank is a whole number from 0 (called first) to {0}.")]
    RankOutOfRange(u32),
    #[error("The end time must be after the start time.")]
    EndNotAfterStart,
    #[error("This shift overlaps shift {conflicting_shift_id} of the same role and rank.")]
    ShiftOverlaps { conflicting_shift_id: ShiftId },
    #[error("You cannot edit or remove a shift that has started or ended.")]
    ShiftStarted,
    #[error("A shift can only be moved to start in the future.")]
    ShiftMovedIntoPast,
    #[error("The shift's overrides must stay between its new start and end times.")]
    OverridesOutsideShift,
    #[error("A series repeats every 1 or more days or weeks.")]
    InvalidRepeat,
    #[error("A series has at least one shift.")]
    EmptySeries,
    #[error(
        "Every shift of this series falls in the hour that the change to daylight saving time skips, so it has no shift."
    )]
    SeriesOnlyInSkippedHour,
    #[error("A series has at most {0} shifts.")]
    SeriesTooLong(usize),
    #[error("A series must repeat at least once every {0} days.")]
    SeriesStepTooLong(u64),
    #[error("Each shift of this series would overlap the next: a shift must end before the series repeats.")]
    SeriesOverlapsItself,
    #[error("A series' shifts fall between the years 1000 and 9000.")]
    SeriesOutOfRange,

    // --- assignments
    #[error("The start time cannot occur before the original shift start time.")]
    OverrideStartsBeforeShift,
    #[error("The end time cannot occur after the original shift end time.")]
    OverrideEndsAfterShift,
    #[error("This override overlaps override {conflicting_override_id}.")]
    OverrideOverlaps { conflicting_override_id: OverrideId },
    #[error("This contact is deactivated and cannot be assigned.")]
    ContactInactive,
    #[error("This contact belongs to another account.")]
    ContactOfAnotherAccount,
    #[error("This shift has no base contact to unassign.")]
    NothingToUnassign,
    #[error("Choose two different shifts to swap.")]
    SwapSameShift,
    #[error("Assign Recurring needs a shift that belongs to a series.")]
    NotInSeries,
    #[error("Assign Recurring repeats every 1 or more shifts.")]
    InvalidRecurrence,
    #[error("The last date to repeat to comes before this shift.")]
    UntilBeforeShift,

    // --- directory, users, accounts
    #[error("This contact is already deactivated.")]
    ContactAlreadyInactive,
    #[error("This contact is already active.")]
    ContactAlreadyActive,
    #[error("This username is already taken.")]
    UsernameTaken,
    #[error("This account number is already taken.")]
    AccountNumberTaken,
    #[error("This account already has a schedule with this name.")]
    ScheduleNameTaken,
    #[error("A client user reaches at least one account.")]
    ClientWithoutAccount,
    #[error("Only client users have a list of accounts; operators, dispatch and auditors reach every account.")]
    AccountsForClientsOnly,
    #[error("This user is deactivated.")]
    UserInactive,
    #[error("An account cannot be its own parent.")]
    OwnParent,

    // --- inbox and call log
    #[error("This message is already closed.")]
    MessageAlreadyClosed,
    #[error("This message is already open.")]
    MessageAlreadyOpen,
    #[error("A Details call has no conversation to record.")]
    RecordingOnDetailsCall,
    #[error("This call already has a recording.")]
    RecordingAlreadyAttached,
}

impl DomainError {
    /// A stable identifier for programs (the API's problem `type`); never reworded.
    pub fn code(&self) -> &'static str {
        use DomainError::*;
        match self {
            ReadOnlyRole => "read_only_role",
            OperatorOnly(_) => "operator_only",
            ShiftEnded => "shift_ended",
            ReasonRequired => "reason_required",
            PastShiftNeedsReason => "past_shift_needs_reason",
            PastOnCall => "past_on_call",
            OverrideEnded => "override_ended",
            PastOnCallNeedsReason => "past_on_call_needs_reason",
            NotYourPassword => "not_your_password",
            CalendarFeedRevoked => "calendar_feed_revoked",
            NotYourCalendarFeed => "not_your_calendar_feed",
            NotFound(_) => "not_found",
            AlreadyExists(_) => "already_exists",
            ScheduleDeleted => "schedule_deleted",
            ScheduleHasRunningShift => "schedule_has_running_shift",
            Blank(_) => "blank_field",
            TooLong { .. } => "field_too_long",
            ControlCharacter(_) => "control_character",
            NotOneLine(_) => "not_one_line",
            UnknownTimeZone(_) => "unknown_time_zone",
            TooManyPhones => "too_many_phones",
            InvalidEmail => "invalid_email",
            InvalidPhone => "invalid_phone",
            InvalidUsername => "invalid_username",
            RankOutOfRange(_) => "rank_out_of_range",
            EndNotAfterStart => "end_not_after_start",
            ShiftOverlaps { .. } => "shift_overlaps",
            ShiftStarted => "shift_started",
            ShiftMovedIntoPast => "shift_moved_into_past",
            OverridesOutsideShift => "overrides_outside_shift",
            InvalidRepeat => "invalid_repeat",
            EmptySeries => "empty_series",
            SeriesOnlyInSkippedHour => "series_only_in_skipped_hour",
            SeriesTooLong(_) => "series_too_long",
            SeriesStepTooLong(_) => "series_step_too_long",
            SeriesOverlapsItself => "series_overlaps_itself",
            SeriesOutOfRange => "series_out_of_range",
            OverrideStartsBeforeShift => "override_starts_before_shift",
            OverrideEndsAfterShift => "override_ends_after_shift",
            OverrideOverlaps { .. } => "override_overlaps",
            ContactInactive => "contact_inactive",
            ContactOfAnotherAccount => "contact_of_another_account",
            NothingToUnassign => "nothing_to_unassign",
            SwapSameShift => "swap_same_shift",
            NotInSeries => "not_in_series",
            InvalidRecurrence => "invalid_recurrence",
            UntilBeforeShift => "until_before_shift",
            ContactAlreadyInactive => "contact_already_inactive",
            ContactAlreadyActive => "contact_already_active",
            UsernameTaken => "username_taken",
            AccountNumberTaken => "account_number_taken",
            ScheduleNameTaken => "schedule_name_taken",
            ClientWithoutAccount => "client_without_account",
            AccountsForClientsOnly => "accounts_for_clients_only",
            UserInactive => "user_inactive",
            OwnParent => "own_parent",
            MessageAlreadyClosed => "message_already_closed",
            MessageAlreadyOpen => "message_already_open",
            RecordingOnDetailsCall => "recording_on_details_call",
            RecordingAlreadyAttached => "recording_already_attached",
        }
    }

    /// The id a conflict names, as an extra member for the problem answer:
    /// `("conflicting_override_id", id)` or `("conflicting_shift_id", id)`.
    pub fn conflict(&self) -> Option<(&'static str, uuid::Uuid)> {
        match self {
            DomainError::OverrideOverlaps { conflicting_override_id } => {
                Some(("conflicting_override_id", conflicting_override_id.as_uuid()))
            }
            DomainError::ShiftOverlaps { conflicting_shift_id } => {
                Some(("conflicting_shift_id", conflicting_shift_id.as_uuid()))
            }
            _ => None,
        }
    }

    /// The broad kind, for mapping onto an HTTP status.
    pub fn kind(&self) -> ErrorKind {
        use DomainError::*;
        match self {
            ReadOnlyRole | OperatorOnly(_) | ShiftEnded | PastOnCall | OverrideEnded | NotYourPassword
            | NotYourCalendarFeed => ErrorKind::Forbidden,
            NotFound(_) => ErrorKind::NotFound,
            AlreadyExists(_)
            | ShiftOverlaps { .. }
            | OverrideOverlaps { .. }
            | UsernameTaken
            | AccountNumberTaken
            | ScheduleNameTaken
            | CalendarFeedRevoked => ErrorKind::Conflict,
            _ => ErrorKind::Rejected,
        }
    }
}

/// Checks a required one-line field (a name, a number) and returns it trimmed.
pub(crate) fn required_line(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    one_line(field, required_text(field, value, max)?)
}

/// Checks an optional one-line field; blank becomes `None`.
pub(crate) fn optional_line(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    optional_text(field, value, max)?.map(|value| one_line(field, value)).transpose()
}

fn one_line(field: &'static str, value: String) -> Result<String, DomainError> {
    // Unicode's own line and paragraph separators break a line as much as a newline does.
    if value.contains(['\n', '\r', '\t', '\u{2028}', '\u{2029}']) {
        return Err(DomainError::NotOneLine(field));
    }
    Ok(value)
}

/// Checks a required free-text field, which may hold several lines, and returns it trimmed.
pub(crate) fn required_text(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.chars().all(invisible) {
        return Err(DomainError::Blank(field));
    }
    optional_text(field, Some(value), max).map(Option::unwrap_or_default)
}

/// Whether a character shows nothing: a space of any kind, or one of the characters that only
/// steer others (zero-width spaces and joiners, direction marks, the byte-order mark, the soft
/// hyphen). A name of nothing else would look empty wherever it is shown.
pub fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{FEFF}')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}')
}

/// A name or role as it is compared, so that names that look alike are one: in Unicode's
/// compatibility form (an "É" typed as one character or as "E" and an accent, a fullwidth "ｏ"
/// and an "o"), without case or invisible characters, and with every run of spaces (a no-break
/// space included) read as one space, none at either end.
pub fn comparable(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = name.nfkc().filter(|&c| c.is_whitespace() || !invisible(c)).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Checks an optional free-text field, which may hold several lines; blank becomes `None`.
pub(crate) fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(DomainError::TooLong { field, max });
    }
    // A NUL cannot even be stored in PostgreSQL's text; the others (a bell, an
    // escape) are keystrokes nobody meant, which garble CSV files and terminals.
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(DomainError::ControlCharacter(field));
    }
    Ok(Some(value.to_owned()))
}

/// Parses an IANA zone name such as `America/Toronto`.
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, DomainError> {
    name.parse().map_err(|_| DomainError::UnknownTimeZone(name.to_owned()))
}
