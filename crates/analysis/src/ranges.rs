//! A set of `u128` values as sorted, disjoint, non-adjacent inclusive
//! ranges: addresses, ports, protocols, interface ids all fit.

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ranges(Vec<(u128, u128)>);

impl Ranges {
    #[must_use]
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    #[must_use]
    pub fn span(lo: u128, hi: u128) -> Self {
        Self(vec![(lo, hi)])
    }

    /// The union of `parts`, in any order, overlapping or not.
    #[must_use]
    pub fn from_parts(mut parts: Vec<(u128, u128)>) -> Self {
        parts.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(parts.len());
        for (lo, hi) in parts {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Self(out)
    }

    #[must_use]
    pub fn parts(&self) -> &[(u128, u128)] {
        &self.0
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The smallest and largest member.
    #[must_use]
    pub fn hull(&self) -> Option<(u128, u128)> {
        Some((self.0.first()?.0, self.0.last()?.1))
    }

    /// Everything in `[0, max]` not in `self`.
    #[must_use]
    pub fn complement(&self, max: u128) -> Self {
        let mut out = Vec::new();
        let mut next = Some(0u128);
        for &(lo, hi) in &self.0 {
            if let Some(n) = next
                && lo > n
            {
                out.push((n, lo - 1));
            }
            next = hi.checked_add(1);
        }
        if let Some(n) = next
            && n <= max
        {
            out.push((n, max));
        }
        Self(out)
    }

    #[must_use]
    pub fn intersect(&self, other: &Self) -> Self {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Self(out)
    }

    #[must_use]
    pub fn intersects(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i].0.max(b[j].0) <= a[i].1.min(b[j].1) {
                return true;
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// Whether every member of `self` is in `other`.
    #[must_use]
    pub fn within(&self, other: &Self) -> bool {
        let mut j = 0;
        for &(lo, hi) in &self.0 {
            while j < other.0.len() && other.0[j].1 < lo {
                j += 1;
            }
            match other.0.get(j) {
                Some(&(olo, ohi)) if olo <= lo && hi <= ohi => {}
                _ => return false,
            }
        }
        true
    }

    /// `self` without the members of `other`.
    #[must_use]
    pub fn minus(&self, other: &Self, max: u128) -> Self {
        self.intersect(&other.complement(max))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Ranges;

    const MAX: u128 = 63;

    fn members(r: &Ranges) -> Vec<u128> {
        (0..=MAX).filter(|v| r.parts().iter().any(|(a, b)| a <= v && v <= b)).collect()
    }

    fn ranges() -> impl Strategy<Value = Ranges> {
        proptest::collection::vec((0..=MAX, 0..8u128), 0..5).prop_map(|v| {
            Ranges::from_parts(v.into_iter().map(|(a, l)| (a, (a + l).min(MAX))).collect())
        })
    }

    proptest! {
        #[test]
        fn set_laws_hold_member_by_member(a in ranges(), b in ranges()) {
            let (ma, mb) = (members(&a), members(&b));
            let both: Vec<u128> = ma.iter().copied().filter(|v| mb.contains(v)).collect();
            prop_assert_eq!(members(&a.intersect(&b)), both.clone());
            prop_assert_eq!(a.intersects(&b), !both.is_empty());
            prop_assert_eq!(a.within(&b), ma.iter().all(|v| mb.contains(v)));
            let not_a: Vec<u128> = (0..=MAX).filter(|v| !ma.contains(v)).collect();
            prop_assert_eq!(members(&a.complement(MAX)), not_a);
            let diff: Vec<u128> = ma.iter().copied().filter(|v| !mb.contains(v)).collect();
            prop_assert_eq!(members(&a.minus(&b, MAX)), diff);
        }
    }
}
