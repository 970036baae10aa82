//! xsd:dateTime (RFC 7643 §2.3.5) parsing into comparable instants, for filters over dateTime attributes.

/// An instant: seconds since the Unix epoch (UTC) and nanoseconds, ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    seconds: i64,
    nanos: u32,
}

fn digits(s: &[u8], n: usize) -> Option<i64> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s[..n]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]` (no zone means UTC). Returns `None` when the
/// text is not a valid dateTime.
pub(crate) fn parse(text: &str) -> Option<Instant> {
    let s = text.as_bytes();
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(s, 4)?, digits(&s[5..], 2)?, digits(&s[8..], 2)?);
    let (hour, minute, second) = (
        digits(&s[11..], 2)?,
        digits(&s[14..], 2)?,
        digits(&s[17..], 2)?,
    );
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some((b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, d) in frac[..n].iter().enumerate().take(9) {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hh = digits(&[*h1, *h2], 2)?;
            let mm = digits(&[*m1, *m2], 2)?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let off = hh * 3600 + mm * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(Instant { seconds, nanos })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_and_orders_instants_across_offsets() {
        let a = parse("2011-05-13T04:42:34Z").unwrap();
        let b = parse("2011-05-13T06:42:34+02:00").unwrap();
        assert_eq!(a, b);
        assert!(parse("2011-05-13T04:42:34.5Z").unwrap() > a);
        assert!(parse("1969-12-31T23:59:59Z").unwrap() < parse("1970-01-01T00:00:00Z").unwrap());
        assert!(parse("2011-05-13T04:42:34").is_some());
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            "",
            "2011-05-13",
            "2011-13-01T00:00:00Z",
            "2011-02-30T00:00:00Z",
            "2011-05-13T04:42:34+2",
            "2011-05-13 04:42:34Z",
            "2011-05-13T04:42:34.Z",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("2024-02-29T00:00:00Z").is_some());
        assert!(parse("2023-02-29T00:00:00Z").is_none());
    }
}
