//! Lines per name (prefix, interface). A name of up to 15 bytes is packed
//! with its length into one u128: hashing and comparing an integer instead
//! of a byte string was most of the cost of counting a line.

use super::FxMap;

/// Counts per byte-string name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    short: FxMap<u128, u64>,
    long: FxMap<Box<[u8]>, u64>,
}

impl Names {
    /// Count `name` once.
    pub fn bump(&mut self, name: &[u8]) {
        match pack(name) {
            Some(k) => *self.short.entry(k).or_insert(0) += 1,
            None => match self.long.get_mut(name) {
                Some(c) => *c += 1,
                None => {
                    self.long.insert(name.into(), 1);
                }
            },
        }
    }

    /// Add the counts of `other`.
    pub fn merge(&mut self, other: Names) {
        for (k, v) in other.short {
            *self.short.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.long {
            *self.long.entry(k).or_insert(0) += v;
        }
    }

    /// Every name with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Vec<u8>, u64)> + '_ {
        let short = self.short.iter().map(|(k, c)| (unpack(*k), *c));
        short.chain(self.long.iter().map(|(k, c)| (k.to_vec(), *c)))
    }
}

/// Bytes in the low 15 bytes, the length in the top one. Two overlapping
/// loads, not a copy into a buffer (a memcpy call per name).
fn pack(name: &[u8]) -> Option<u128> {
    let n = name.len();
    let bytes = if let (Some(lo), Some(hi)) = (name.first_chunk::<8>(), name.last_chunk::<8>()) {
        if n > 15 {
            return None;
        }
        let hi = u128::from(u64::from_le_bytes(*hi)) >> (8 * (16 - n));
        u128::from(u64::from_le_bytes(*lo)) | hi << 64
    } else if let (Some(lo), Some(hi)) = (name.first_chunk::<4>(), name.last_chunk::<4>()) {
        let hi = u64::from(u32::from_le_bytes(*hi)) >> (8 * (8 - n));
        u128::from(u32::from_le_bytes(*lo)) | u128::from(hi) << 32
    } else {
        name.iter().rev().fold(0, |k, &b| k << 8 | u128::from(b))
    };
    Some(bytes | (n as u128) << 120)
}

fn unpack(k: u128) -> Vec<u8> {
    let b = k.to_le_bytes();
    b[..usize::from(b[15])].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_round_trips() {
        let text = b"0123456789abcdefgh";
        for n in 0..=15 {
            assert_eq!(unpack(pack(&text[..n]).unwrap()), &text[..n], "{n}");
        }
        assert_eq!(pack(&text[..16]), None);
    }

    #[test]
    fn short_and_long_names_count_apart_and_merge() {
        let mut a = Names::default();
        for n in [
            &b"eth0"[..],
            b"eth0",
            b"",
            b"eth0\0",
            b"RULE 16 -- DENY",
            b"filter_IN_public_REJECT:",
            b"br",
            b"vnet12",
            b"12345678",
        ] {
            a.bump(n);
        }
        let mut b = Names::default();
        b.bump(b"eth0");
        b.bump(b"filter_IN_public_REJECT:");
        a.merge(b);
        let mut got: Vec<_> = a.iter().collect();
        got.sort();
        let want: Vec<(Vec<u8>, u64)> = vec![
            (b"".to_vec(), 1),
            (b"12345678".to_vec(), 1),
            (b"RULE 16 -- DENY".to_vec(), 1),
            (b"br".to_vec(), 1),
            (b"eth0".to_vec(), 3),
            (b"eth0\0".to_vec(), 1),
            (b"filter_IN_public_REJECT:".to_vec(), 2),
            (b"vnet12".to_vec(), 1),
        ];
        assert_eq!(got, want);
    }
}
