//! Answer times as the database groups them: working days → how many answers took that
//! long. Median and 90th percentile come from these histograms, never from raw rows, so
//! a report over a million answers moves a few hundred numbers out of the database; and
//! histograms add up, so per-province and regional figures are merged from the pairs.

use std::collections::BTreeMap;

/// Answer times: working days → count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<i64, i64>);

impl Histogram {
    /// Adds `count` answers of `days` working days.
    pub fn add(&mut self, days: i64, count: i64) {
        if count > 0 {
            *self.0.entry(days).or_default() += count;
        }
    }

    /// Adds another histogram's answers.
    pub fn merge(&mut self, other: &Histogram) {
        for (days, count) in &other.0 {
            self.add(*days, *count);
        }
    }

    /// How many answers.
    pub fn count(&self) -> i64 {
        self.0.values().sum()
    }

    /// The value of the answer at 1-based `rank` in ascending order.
    fn at_rank(&self, rank: i64) -> Option<i64> {
        let mut seen = 0;
        for (days, count) in &self.0 {
            seen += count;
            if seen >= rank {
                return Some(*days);
            }
        }
        None
    }

    /// The median: the middle value, or the mean of the two middle values of an even
    /// count (DOMAIN.md §6). `None` without answers.
    pub fn median(&self) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        if n % 2 == 1 {
            return self.at_rank(n / 2 + 1).map(|v| v as f64);
        }
        let (a, b) = (self.at_rank(n / 2)?, self.at_rank(n / 2 + 1)?);
        Some((a + b) as f64 / 2.0)
    }

    /// The `p`th percentile by nearest rank: the value at rank ⌈p/100 × n⌉ (DOMAIN.md §6).
    pub fn percentile(&self, p: i64) -> Option<i64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p * n + 99) / 100).clamp(1, n);
        self.at_rank(rank)
    }
}

/// `part ÷ whole`, or `None` when nothing is in the whole.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[i64]) -> Histogram {
        let mut h = Histogram::default();
        for v in values {
            h.add(*v, 1);
        }
        h
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(of(&[]).median(), None);
        assert_eq!(of(&[7]).median(), Some(7.0));
        assert_eq!(of(&[17, 0, 2]).median(), Some(2.0));
        assert_eq!(of(&[0, 7]).median(), Some(3.5));
        assert_eq!(of(&[0, 2, 3, 17]).median(), Some(2.5));
        assert_eq!(of(&[4, 4, 4, 9]).median(), Some(4.0));
    }

    #[test]
    fn the_ninetieth_percentile_is_the_nearest_rank() {
        assert_eq!(of(&[]).percentile(90), None);
        assert_eq!(of(&[3]).percentile(90), Some(3));
        assert_eq!(of(&[0, 7]).percentile(90), Some(7));
        assert_eq!(of(&[0, 2, 17]).percentile(90), Some(17));
        // Ten values: rank 9.
        assert_eq!(of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).percentile(90), Some(9));
        // Eleven values: rank ⌈9.9⌉ = 10.
        assert_eq!(of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).percentile(90), Some(10));
        assert_eq!(of(&[5, 1, 5]).percentile(50), Some(5));
    }

    #[test]
    fn histograms_merge() {
        let mut a = of(&[0, 2, 17]);
        a.merge(&of(&[3]));
        assert_eq!(a.count(), 4);
        assert_eq!(a.median(), Some(2.5));
        let mut grouped = Histogram::default();
        grouped.add(2, 3);
        grouped.add(9, 1);
        assert_eq!(grouped.median(), Some(2.0));
        assert_eq!(grouped.percentile(90), Some(9));
    }

    #[test]
    fn rates() {
        assert_eq!(rate(3, 4), Some(0.75));
        assert_eq!(rate(0, 0), None);
    }
}
