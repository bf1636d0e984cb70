//! Masking of personal data (DOMAIN.md §6): the one place that decides how an ID
//! number or a name looks wherever it must not appear in clear — logs, rejection
//! details, the coordination group's reports.
//!
//! Both helpers work on any string, valid or not, because what needs masking most is
//! often the malformed value a province sent.

/// Keeps the first 4 and last 4 characters and stars every one between:
/// `34130219920517002X` → `3413**********002X`. A string of 8 characters or fewer
/// would be shown whole that way, so it is starred entirely.
pub fn mask_id_number(s: &str) -> String {
    let len = s.chars().count();
    if len <= 8 {
        return "*".repeat(len);
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= len - 4 { c } else { '*' })
        .collect()
}

/// Keeps the first character and puts one `*` per other character: `张三丰` → `张**`.
pub fn mask_name(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_keep_four_and_four() {
        assert_eq!(mask_id_number("34130219920517002X"), "3413**********002X");
        assert_eq!(mask_id_number("110105491231002"), "1101*******1002");
        assert_eq!(mask_id_number("123456789"), "1234*6789");
    }

    #[test]
    fn short_strings_are_fully_starred() {
        assert_eq!(mask_id_number("12345678"), "********");
        assert_eq!(mask_id_number("12"), "**");
        assert_eq!(mask_id_number(""), "");
    }

    #[test]
    fn masking_counts_characters_not_bytes() {
        assert_eq!(mask_id_number("一二三四五六七八九"), "一二三四*六七八九");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("Li"), "L*");
        assert_eq!(mask_name(""), "");
    }
}
