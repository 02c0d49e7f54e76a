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

/// Bytes in the low 15 bytes, the length in the top one.
fn pack(name: &[u8]) -> Option<u128> {
    if name.len() > 15 {
        return None;
    }
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name);
    b[15] = name.len() as u8;
    Some(u128::from_le_bytes(b))
}

fn unpack(k: u128) -> Vec<u8> {
    let b = k.to_le_bytes();
    b[..usize::from(b[15])].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_count_apart_and_merge() {
        let mut a = Names::default();
        for n in
            [&b"eth0"[..], b"eth0", b"", b"eth0\0", b"RULE 16 -- DENY", b"filter_IN_public_REJECT:"]
        {
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
            (b"RULE 16 -- DENY".to_vec(), 1),
            (b"eth0".to_vec(), 3),
            (b"eth0\0".to_vec(), 1),
            (b"filter_IN_public_REJECT:".to_vec(), 2),
        ];
        assert_eq!(got, want);
    }
}
