//! A schedule range as a printable PDF, like the portal's screen: the shifts table, the summary and the coverage calendar.
//!
//! Names and comments print as typed: in Helvetica, which every PDF reader has, or in an
//! embedded font when a text needs letters beyond Western European ones (`pdf_fonts`). Pages
//! are A4 landscape; the table's header is repeated on every page, and the calendar follows the table.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use printpdf::{Color, Mm, Op, PaintMode, PdfDocument, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem};
use vigie_domain::schedule::{Coverage, Source};

use crate::export::pdf_fonts::{Font, Typeface};
use crate::export::{Roster, Row, summary_line};

const PAGE_WIDTH: f32 = 297.0;
const PAGE_HEIGHT: f32 = 210.0;
const MARGIN: f32 = 12.0;
/// Where content stops, leaving room for the page footer.
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 6.0;
const ROW_HEIGHT: f32 = 6.0;
const TEXT_SIZE: f32 = 9.0;

/// The table's columns: heading and width in millimetres (they add up to the printable width).
const COLUMNS: [(&str, f32); 7] = [
    // Wide enough for a time that comes twice, with its zone: "Sun 2027-10-31 02:30 CEST",
    // "Sun 2027-04-04 03:30 +1345" (Chatham's abbreviation is its offset).
    ("Start", 49.0),
    ("End", 49.0),
    ("Rank", 10.0),
    ("Shift", 28.0),
    ("Role", 14.0),
    ("Contact", 56.0),
    ("Comment", 67.0),
];

/// A month in the calendar: 7 columns of this width, 6 rows of this height.
const CELL_WIDTH: f32 = 10.0;
const CELL_HEIGHT: f32 = 7.0;
const MONTH_GAP: f32 = 16.0;
const MONTH_HEIGHT: f32 = 7.0 + 5.0 + 6.0 * CELL_HEIGHT;

const BLACK: (f32, f32, f32) = (0.0, 0.0, 0.0);
const GREY: (f32, f32, f32) = (0.45, 0.45, 0.45);
const HEADER_FILL: (f32, f32, f32) = (0.86, 0.88, 0.91);
const STRIPE_FILL: (f32, f32, f32) = (0.96, 0.96, 0.97);
const GAP_TEXT: (f32, f32, f32) = (0.75, 0.1, 0.1);
const GREEN: (f32, f32, f32) = (0.47, 0.78, 0.42);
const YELLOW: (f32, f32, f32) = (1.0, 0.84, 0.3);
const RED: (f32, f32, f32) = (0.92, 0.4, 0.36);

/// The PDF of a roster and the coverage of its days; `printed_at` goes in the footer.
pub fn render(roster: &Roster, days: &[(NaiveDate, Coverage)], printed_at: DateTime<Utc>) -> Vec<u8> {
    let footer = format!(
        "{} · {} · printed {}",
        one_line(&roster.account),
        one_line(&roster.schedule),
        printed_at.with_timezone(&roster.time_zone).format("%Y-%m-%d %H:%M %Z")
    );
    // Every text the client wrote, and the footer that repeats some of them.
    let cells: Vec<String> = roster.rows.iter().flat_map(|row| cells(row, roster.time_zone)).collect();
    let typeface = Typeface::for_texts(cells.iter().chain([&footer]).map(String::as_str));
    let mut layout = Layout { typeface, ..Layout::default() };
    layout.title(roster, days);
    layout.table(roster);
    layout.calendar(days);
    let font = typeface.regular();
    let count = layout.pages.len();
    let pages: Vec<PdfPage> = layout
        .pages
        .into_iter()
        .enumerate()
        .map(|(n, mut ops)| {
            let y = PAGE_HEIGHT - MARGIN + 2.0;
            text(&mut ops, MARGIN, y, font, 7.5, GREY, &footer);
            let number = format!("Page {} of {count}", n + 1);
            let x = PAGE_WIDTH - MARGIN - font.width(&number, 7.5);
            text(&mut ops, x, y, font, 7.5, GREY, &number);
            PdfPage::new(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), ops)
        })
        .collect();
    let title = format!("{} – {}", one_line(&roster.schedule), one_line(&roster.account));
    let mut document = PdfDocument::new(&title);
    typeface.add_to(&mut document);
    document.with_pages(pages).save(&PdfSaveOptions::default(), &mut Vec::new())
}

/// Pages being filled from the top; `y` is the next free line, in millimetres from the top edge.
#[derive(Debug, Default)]
struct Layout {
    typeface: Typeface,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.new_page();
        }
        self.pages.last_mut().expect("a page was just added")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Whether `height` more millimetres fit on the current page.
    fn fits(&self, height: f32) -> bool {
        !self.pages.is_empty() && self.y + height <= BOTTOM
    }

    fn title(&mut self, roster: &Roster, days: &[(NaiveDate, Coverage)]) {
        let (regular, bold) = (self.typeface.regular(), self.typeface.bold());
        let tz = roster.time_zone;
        // The dates asked for, as the calendar shows them. Read back from the roster's instants,
        // a day the zone skipped (Apia's 2011-12-30) would print the range backwards.
        let first = days.first().map_or_else(|| roster.from.with_timezone(&tz).date_naive(), |(day, _)| *day);
        let last = days.last().map_or(first, |(day, _)| *day);
        // Names written before they had to fit on one line still print on one.
        let heading = format!("{} — on-call schedule", one_line(&roster.schedule));
        let details = format!(
            "Account {} · {} to {} · times in {}",
            one_line(&roster.account),
            first.format("%a %Y-%m-%d"),
            last.format("%a %Y-%m-%d"),
            tz.name()
        );
        let summary = summary_line(&roster.summary);
        let page = self.page();
        text(page, MARGIN, MARGIN + 6.0, bold, 16.0, BLACK, &heading);
        text(page, MARGIN, MARGIN + 12.5, regular, 10.0, BLACK, &details);
        text(page, MARGIN, MARGIN + 18.5, bold, 10.0, BLACK, &summary);
        self.y = MARGIN + 23.0;
    }

    fn table(&mut self, roster: &Roster) {
        let regular = self.typeface.regular();
        self.table_header();
        if roster.rows.is_empty() {
            let (y, page) = (self.y, self.page());
            text(page, MARGIN + 1.5, y + 4.2, regular, TEXT_SIZE, GREY, "No shift in this range.");
            self.y += ROW_HEIGHT;
        }
        for (n, row) in roster.rows.iter().enumerate() {
            if !self.fits(ROW_HEIGHT) {
                self.new_page();
                self.table_header();
            }
            let cells = cells(row, roster.time_zone);
            let (y, page) = (self.y, self.page());
            if n % 2 == 1 {
                fill(page, MARGIN, y, PAGE_WIDTH - 2.0 * MARGIN, ROW_HEIGHT, STRIPE_FILL);
            }
            let mut x = MARGIN;
            for (column, ((_, width), cell)) in COLUMNS.iter().zip(cells).enumerate() {
                let colour = if column == 5 && row.contact.is_none() { GAP_TEXT } else { BLACK };
                let cell = regular.fit(&cell, TEXT_SIZE, width - 3.0);
                text(page, x + 1.5, y + 4.2, regular, TEXT_SIZE, colour, &cell);
                x += width;
            }
            self.y += ROW_HEIGHT;
        }
        let y = self.y;
        rule(self.page(), MARGIN, PAGE_WIDTH - MARGIN, y);
    }

    fn table_header(&mut self) {
        let bold = self.typeface.bold();
        let (y, page) = (self.y, self.page());
        fill(page, MARGIN, y, PAGE_WIDTH - 2.0 * MARGIN, ROW_HEIGHT, HEADER_FILL);
        let mut x = MARGIN;
        for (heading, width) in COLUMNS {
            text(page, x + 1.5, y + 4.2, bold, TEXT_SIZE, BLACK, heading);
            x += width;
        }
        self.y += ROW_HEIGHT;
    }

    /// The coverage calendar: a legend, then one grid per month, three months to a line.
    fn calendar(&mut self, days: &[(NaiveDate, Coverage)]) {
        let (regular, bold, typeface) = (self.typeface.regular(), self.typeface.bold(), self.typeface);
        let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) else { return };
        let legend_height = 16.0;
        if !self.fits(legend_height + MONTH_HEIGHT) {
            self.new_page();
        } else {
            self.y += 8.0;
        }
        let (y, page) = (self.y, self.page());
        text(page, MARGIN, y + 5.0, bold, 12.0, BLACK, "Coverage");
        let legend = [
            (GREEN, "Full: every shift of the day has a contact"),
            (YELLOW, "Partial: part of the day has nobody on call"),
            (RED, "None: nobody on call, or no shift"),
        ];
        let mut x = MARGIN;
        for (colour, label) in legend {
            fill(page, x, y + 8.5, 5.0, 4.0, colour);
            text(page, x + 7.0, y + 11.8, regular, 8.5, BLACK, label);
            x += 9.0 + regular.width(label, 8.5) + 8.0;
        }
        self.y += legend_height;

        let months = months_between(*first, *last);
        for line_of_months in months.chunks(3) {
            if !self.fits(MONTH_HEIGHT) {
                self.new_page();
            }
            for (n, month) in line_of_months.iter().enumerate() {
                let x = MARGIN + n as f32 * (7.0 * CELL_WIDTH + MONTH_GAP);
                let y = self.y;
                month_grid(self.page(), typeface, x, y, *month, days);
            }
            self.y += MONTH_HEIGHT + 6.0;
        }
    }
}

/// The texts of a row's cells, in the columns' order.
fn cells(row: &Row, tz: chrono_tz::Tz) -> [String; 7] {
    let contact = match &row.contact {
        None => "Not covered".to_owned(),
        Some(c) => {
            let mut name = c.name.clone();
            if row.source == Source::Override {
                name.push_str(" (override)");
            }
            if !c.active {
                name.push_str(" (deactivated)");
            }
            name
        }
    };
    [
        local_time(row.start, tz),
        local_time(row.end, tz),
        row.rank.to_string(),
        one_line(&row.shift_name),
        one_line(&row.role),
        one_line(&contact),
        one_line(row.comment.as_deref().unwrap_or_default()),
    ]
}

/// An instant as the schedule's wall clock shows it. When the clocks go back, one wall time comes
/// twice: then the zone's abbreviation (EDT, EST) tells which, or its offset where both sides of
/// the change share one abbreviation (Moscow's MSK in 2014), as nothing else on paper would.
fn local_time(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let local = t.with_timezone(&tz);
    let zone = match tz.from_local_datetime(&local.naive_local()) {
        LocalResult::Ambiguous(earlier, later)
            if earlier.format("%Z").to_string() != later.format("%Z").to_string() =>
        {
            " %Z"
        }
        LocalResult::Ambiguous(..) => return format!("{} {}", local.format("%a %Y-%m-%d %H:%M"), short_offset(&local)),
        _ => "",
    };
    local.format(&format!("%a %Y-%m-%d %H:%M{zone}")).to_string()
}

/// The offset from UTC as "+04", or "+05:30" when it has minutes: short enough for a table cell.
fn short_offset(local: &DateTime<chrono_tz::Tz>) -> String {
    use chrono::Offset;
    let seconds = local.offset().fix().local_minus_utc();
    let (sign, minutes) = (if seconds < 0 { '-' } else { '+' }, seconds.abs() / 60);
    match minutes % 60 {
        0 => format!("{sign}{:02}", minutes / 60),
        rest => format!("{sign}{:02}:{rest:02}", minutes / 60),
    }
}

/// `s` on one line: a cell has no room for a line break, and a font draws a
/// newline or a tab as a box. Each run of them becomes a space.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control()).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The first day of every month from `first`'s to `last`'s.
fn months_between(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut month = first.with_day(1).unwrap_or(first);
    let mut months = Vec::new();
    while month <= last {
        months.push(month);
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
    }
    months
}

/// One month's grid at (`x`, `y`) from the top left: weeks start on Monday; days outside the range stay white.
fn month_grid(
    page: &mut Vec<Op>,
    typeface: Typeface,
    x: f32,
    y: f32,
    month: NaiveDate,
    days: &[(NaiveDate, Coverage)],
) {
    let (regular, bold) = (typeface.regular(), typeface.bold());
    text(page, x, y + 5.0, bold, 10.0, BLACK, &month.format("%B %Y").to_string());
    for (n, weekday) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().enumerate() {
        text(page, x + n as f32 * CELL_WIDTH + 1.0, y + 10.5, regular, 7.5, GREY, weekday);
    }
    let top = y + 12.0;
    let offset = month.weekday().num_days_from_monday();
    let in_month = month.iter_days().take_while(|d| d.month() == month.month());
    for (n, day) in in_month.enumerate() {
        let slot = offset + n as u32;
        let (column, week) = ((slot % 7) as f32, (slot / 7) as f32);
        let (cx, cy) = (x + column * CELL_WIDTH, top + week * CELL_HEIGHT);
        let coverage = days.iter().find(|(d, _)| *d == day).map(|(_, c)| *c);
        if let Some(coverage) = coverage {
            let colour = match coverage {
                Coverage::Full => GREEN,
                Coverage::Partial => YELLOW,
                Coverage::None => RED,
            };
            fill(page, cx, cy, CELL_WIDTH, CELL_HEIGHT, colour);
        }
        outline(page, cx, cy, CELL_WIDTH, CELL_HEIGHT);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let font = if weekend { bold } else { regular };
        let colour = if coverage.is_some() { BLACK } else { GREY };
        text(page, cx + 1.2, cy + 4.6, font, 8.0, colour, &day.day().to_string());
    }
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb { r, g, b, icc_profile: None })
}

/// Millimetres from the top edge to PDF points from the bottom edge.
fn point(x: f32, y_from_top: f32) -> Point {
    Point::new(Mm(x), Mm(PAGE_HEIGHT - y_from_top))
}

/// Writes `s` with its baseline at (`x`, `y`) from the top left.
fn text(page: &mut Vec<Op>, x: f32, y: f32, font: Font, size: f32, colour: (f32, f32, f32), s: &str) {
    page.extend([
        Op::StartTextSection,
        Op::SetFont { font: font.handle(), size: Pt(size) },
        Op::SetFillColor { col: rgb(colour) },
        Op::SetTextCursor { pos: point(x, y) },
        Op::ShowText { items: vec![TextItem::Text(s.to_owned())] },
        Op::EndTextSection,
    ]);
}

fn rect(x: f32, y: f32, width: f32, height: f32, mode: PaintMode) -> Op {
    let corner = point(x, y + height);
    Op::DrawRectangle {
        rectangle: Rect {
            x: corner.x,
            y: corner.y,
            width: Mm(width).into(),
            height: Mm(height).into(),
            mode: Some(mode),
            winding_order: None,
        },
    }
}

fn fill(page: &mut Vec<Op>, x: f32, y: f32, width: f32, height: f32, colour: (f32, f32, f32)) {
    page.extend([Op::SetFillColor { col: rgb(colour) }, rect(x, y, width, height, PaintMode::Fill)]);
}

fn outline(page: &mut Vec<Op>, x: f32, y: f32, width: f32, height: f32) {
    page.extend([
        Op::SetOutlineColor { col: rgb((0.6, 0.6, 0.6)) },
        Op::SetOutlineThickness { pt: Pt(0.4) },
        rect(x, y, width, height, PaintMode::Stroke),
    ]);
}

/// A horizontal rule from `x1` to `x2` at `y` from the top.
fn rule(page: &mut Vec<Op>, x1: f32, x2: f32, y: f32) {
    page.extend([
        Op::SetOutlineColor { col: rgb(GREY) },
        Op::SetOutlineThickness { pt: Pt(0.6) },
        Op::DrawLine {
            line: printpdf::Line {
                points: vec![
                    printpdf::LinePoint { p: point(x1, y), bezier: false },
                    printpdf::LinePoint { p: point(x2, y), bezier: false },
                ],
                is_closed: false,
            },
        },
    ]);
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use vigie_domain::schedule::Coverage;

    use crate::export::sample_roster;

    /// Every page's text, as a reader copying it out of the PDF would get it.
    fn text_of(pdf: &[u8]) -> String {
        let document = lopdf::Document::load_mem(pdf).expect("a PDF that parses");
        let pages: Vec<u32> = document.get_pages().keys().copied().collect();
        document.extract_text(&pages).expect("text that extracts")
    }

    fn march_coverage() -> Vec<(NaiveDate, Coverage)> {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("a March day");
        (2..=15)
            .map(|d| {
                (
                    day(d),
                    if d < 11 {
                        Coverage::Full
                    } else if d == 11 {
                        Coverage::Partial
                    } else {
                        Coverage::None
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_pdf_shows_the_contacts_the_summary_and_the_calendar() {
        let printed = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let pdf = super::render(&sample_roster(), &march_coverage(), printed);
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        if let Ok(path) = std::env::var("VIGIE_PDF_SAMPLE") {
            std::fs::write(path, &pdf).expect("the sample is written");
        }
        let text = text_of(&pdf);
        for expected in [
            "01 Horaire",
            "4000 Demo Genesis",
            "America/Toronto",
            "Anthony Giosi",
            "Luc Lambert (override)",
            "Rémi Côté",
            "Not covered",
            "Back from leave",
            "0 assigned 2 unassigned",
            "Total hours assigned: 16.50",
            "Mon 2026-03-02 07:30",
            "March 2026",
            "Coverage",
            "Page 1 of 1",
        ] {
            assert!(text.contains(expected), "{expected:?} is missing from the PDF's text:\n{text}");
        }
    }

    #[test]
    fn names_and_comments_in_other_scripts_print_as_typed() {
        let mut roster = sample_roster();
        roster.schedule = "Sœurs de la Charité".into();
        roster.rows[0].comment = Some("Prime 50 € · Łukasz Żółć · Ψυχή · Дмитрий".into());
        let pdf = super::render(&roster, &march_coverage(), Utc::now());
        let text = text_of(&pdf);
        for expected in ["Sœurs de la Charité", "Prime 50 €", "Łukasz Żółć", "Ψυχή", "Дмитрий"] {
            assert!(text.contains(expected), "{expected:?} is missing from the PDF's text:\n{text}");
        }
        assert!(!text.contains('?'), "a character printed as ?:\n{text}");
        // Western European text needs no font in the file; the others carry theirs.
        let western = super::render(&sample_roster(), &march_coverage(), Utc::now());
        assert!(western.len() < 20_000 && pdf.len() > 200_000, "{} and {} bytes", western.len(), pdf.len());
    }

    #[test]
    fn a_long_range_runs_over_several_pages_with_the_header_on_each() {
        let mut roster = sample_roster();
        let row = roster.rows[0].clone();
        roster.rows = (0..80).map(|_| row.clone()).collect();
        let pdf = super::render(&roster, &march_coverage(), Utc::now());
        let document = lopdf::Document::load_mem(&pdf).expect("a PDF that parses");
        let pages = document.get_pages().len();
        assert!(pages >= 3, "80 rows and a calendar fit on {pages} pages");
        let last = document.extract_text(&[pages as u32]).expect("text that extracts");
        assert!(last.contains(&format!("Page {pages} of {pages}")), "{last}");
        let second = document.extract_text(&[2]).expect("text that extracts");
        assert!(second.contains("Contact") && second.contains("Comment"), "no table header on page 2: {second}");
    }

    #[test]
    fn a_wall_time_that_comes_twice_says_which() {
        let toronto = chrono_tz::America::Toronto;
        let first = Utc.with_ymd_and_hms(2027, 11, 7, 5, 30, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2027, 11, 7, 6, 30, 0).unwrap();
        assert_eq!(super::local_time(first, toronto), "Sun 2027-11-07 01:30 EDT");
        assert_eq!(super::local_time(second, toronto), "Sun 2027-11-07 01:30 EST");
        assert_eq!(
            super::local_time(Utc.with_ymd_and_hms(2027, 11, 7, 8, 0, 0).unwrap(), toronto),
            "Sun 2027-11-07 03:00"
        );
        // Moscow went back an hour in 2014 and called both sides MSK: the offset tells them apart.
        let moscow = chrono_tz::Europe::Moscow;
        let before = Utc.with_ymd_and_hms(2014, 10, 25, 21, 30, 0).unwrap();
        assert_eq!(super::local_time(before, moscow), "Sun 2014-10-26 01:30 +04");
        assert_eq!(super::local_time(before + chrono::Duration::hours(1), moscow), "Sun 2014-10-26 01:30 +03");

        // And the page has room for it.
        let mut roster = sample_roster();
        roster.rows[0].start = first;
        roster.rows[0].end = second;
        let text = text_of(&super::render(&roster, &march_coverage(), Utc::now()));
        assert!(text.contains("Sun 2027-11-07 01:30 EDT") && text.contains("Sun 2027-11-07 01:30 EST"), "{text}");
        roster.time_zone = moscow;
        (roster.rows[0].start, roster.rows[0].end) = (before, before + chrono::Duration::hours(1));
        let text = text_of(&super::render(&roster, &march_coverage(), Utc::now()));
        assert!(text.contains("Sun 2014-10-26 01:30 +04") && text.contains("Sun 2014-10-26 01:30 +03"), "{text}");
        // The longest labels: a four-letter abbreviation, and Chatham's, which is its offset.
        let paris = chrono_tz::Europe::Paris;
        let summer = Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap();
        roster.time_zone = paris;
        (roster.rows[0].start, roster.rows[0].end) = (summer, summer + chrono::Duration::hours(1));
        let text = text_of(&super::render(&roster, &march_coverage(), Utc::now()));
        assert!(text.contains("Sun 2027-10-31 02:30 CEST") && text.contains("Sun 2027-10-31 02:30 CET"), "{text}");
        let chatham = chrono_tz::Pacific::Chatham;
        let daylight = Utc.with_ymd_and_hms(2027, 4, 3, 13, 45, 0).unwrap();
        roster.time_zone = chatham;
        (roster.rows[0].start, roster.rows[0].end) = (daylight, daylight + chrono::Duration::hours(1));
        let text = text_of(&super::render(&roster, &march_coverage(), Utc::now()));
        assert!(text.contains("Sun 2027-04-04 03:30 +1345") && text.contains("Sun 2027-04-04 03:30 +1245"), "{text}");
    }

    #[test]
    fn the_columns_fill_the_printable_width() {
        let widths: f32 = super::COLUMNS.iter().map(|(_, width)| width).sum();
        assert_eq!(widths, super::PAGE_WIDTH - 2.0 * super::MARGIN);
    }

    #[test]
    fn a_day_the_zone_skipped_prints_as_the_day_asked_for() {
        // Samoa skipped 2011-12-30: its start of day is the start of the 31st, so the
        // roster's instants run from the 31st back to the 30th.
        let apia = chrono_tz::Pacific::Apia;
        let mut roster = sample_roster();
        roster.time_zone = apia;
        roster.from = Utc.with_ymd_and_hms(2011, 12, 30, 10, 0, 0).unwrap();
        roster.to = roster.from;
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let text = text_of(&super::render(&roster, &[(skipped, Coverage::None)], Utc::now()));
        assert!(text.contains("Fri 2011-12-30 to Fri 2011-12-30"), "{text}");
    }

    #[test]
    fn a_comment_written_on_several_lines_prints_on_one() {
        let mut roster = sample_roster();
        roster.rows[0].comment = Some("Luc couvre\nla nuit,\r\n\tpuis Marie".into());
        let text = text_of(&super::render(&roster, &march_coverage(), Utc::now()));
        assert!(text.contains("Luc couvre la nuit, puis Marie"), "{text}");
    }

    #[test]
    fn a_shift_with_megabytes_of_comments_prints_the_first_words_of_them() {
        // Clients may add comments without end; the cell shows what fits, and the file stays small.
        let mut roster = sample_roster();
        roster.rows[0].comment = Some("Luc couvre la nuit. ".repeat(100_000));
        let pdf = super::render(&roster, &march_coverage(), Utc::now());
        assert!(text_of(&pdf).contains("Luc couvre la nuit. Luc"), "the comments' first words");
        assert!(pdf.len() < 100_000, "{} bytes: more than one line of the comments was printed", pdf.len());
    }
}
