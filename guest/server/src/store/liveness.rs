//! Which resources exist: two bits per sequence number in counter words (`b/{kind}/{word}`),
//! changed only by compare-and-swap. The bits are the commit point of a create and of a delete,
//! so existence is linearizable per resource, and counting and paging need no document:
//! `totalResults` is the number of live pairs, a page is the n-th live sequence numbers.
//!
//! A pair moves `pending` → `live` (a create commits) or `pending` → `dead` (a create that
//! crashed or lost its name is aborted by whoever takes the name over), and `live` → `dead` (a
//! delete commits). Nothing moves back, so a create and an abort of the same resource cannot both
//! win. Consecutive sequence numbers live in different words (64 words interleave), so
//! concurrent creates rarely touch the same key.
use super::Kind;
use super::cas::{self, CasError, Step};
use super::keys;
use crate::kv::{Kv, StoreError};

/// Pairs per word (62 of a counter's 63 usable bits).
const PAIRS: u64 = 31;
/// Words that consecutive sequence numbers are spread over.
const SPREAD: u64 = 64;

/// The state of one resource's pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// Created but not committed (or never written).
    Pending,
    /// Exists.
    Live,
    /// Deleted, or a create that was aborted.
    Dead,
}

impl Life {
    fn from_bits(bits: i64) -> Life {
        match bits & 0b11 {
            0b00 => Life::Pending,
            0b01 => Life::Live,
            _ => Life::Dead,
        }
    }
    fn bits(self) -> i64 {
        match self {
            Life::Pending => 0b00,
            Life::Live => 0b01,
            Life::Dead => 0b10,
        }
    }
}

/// Where `seq`'s pair lives: the word and the pair's shift in it.
fn place(seq: u64) -> (u64, u32) {
    let block = seq / (SPREAD * PAIRS);
    let word = block * SPREAD + seq % SPREAD;
    let pair = (seq / SPREAD) % PAIRS;
    (word, (2 * pair) as u32)
}

/// The sequence numbers a word holds, by pair index.
fn seq_at(word: u64, pair: u64) -> u64 {
    let block = word / SPREAD;
    block * SPREAD * PAIRS + pair * SPREAD + word % SPREAD
}

fn life_in(word_value: i64, shift: u32) -> Life {
    Life::from_bits(word_value >> shift)
}

/// Why a transition did not happen: the pair was already in `Life`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Already(pub(crate) Life);

/// Moves `seq`'s pair from `from` to `to`; when it is elsewhere, answers where it is.
async fn transition<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
    from: Life,
    to: Life,
) -> Result<Result<(), Already>, StoreError> {
    let (word, shift) = place(seq);
    let key = keys::live_word(kind, word);
    let outcome = cas::update_counter(
        kv,
        &key,
        |value| {
            let now = life_in(value, shift);
            Ok::<_, ()>(if now == from {
                let cleared = value & !(0b11 << shift);
                Step::Write(cleared | (to.bits() << shift), Ok(()))
            } else {
                Step::Keep(Err(Already(now)))
            })
        },
        |read_back| life_in(read_back, shift) == to,
    )
    .await;
    match outcome {
        Ok(answer) => Ok(answer),
        Err(CasError::Store(e)) => Err(e),
        Err(CasError::Contended(key)) => Err(StoreError(format!("{key} kept changing"))),
        Err(CasError::Refused(())) => Err(StoreError("unreachable refusal".into())),
    }
}

/// Commits a create: pending → live. `Err(Already(Dead))` when it was aborted meanwhile.
pub(crate) async fn commit<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
) -> Result<Result<(), Already>, StoreError> {
    transition(kv, kind, seq, Life::Pending, Life::Live).await
}

/// Aborts a create that has not committed: pending → dead.
pub(crate) async fn abort<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
) -> Result<Result<(), Already>, StoreError> {
    transition(kv, kind, seq, Life::Pending, Life::Dead).await
}

/// Commits a delete: live → dead.
pub(crate) async fn kill<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
) -> Result<Result<(), Already>, StoreError> {
    transition(kv, kind, seq, Life::Live, Life::Dead).await
}

/// The key of the word holding `seq`'s pair, and the pair's shift in it.
pub(crate) fn word_of(kind: Kind, seq: u64) -> (String, u32) {
    let (word, shift) = place(seq);
    (keys::live_word(kind, word), shift)
}

/// The state a word's value gives the pair at `shift`.
pub(crate) fn life_at(word_value: i64, shift: u32) -> Life {
    life_in(word_value, shift)
}

/// The state of `seq`.
pub(crate) async fn life<K: Kv>(kv: &K, kind: Kind, seq: u64) -> Result<Life, StoreError> {
    let (word, shift) = place(seq);
    let value = cas::read_counter(kv, &keys::live_word(kind, word)).await?;
    Ok(life_in(value, shift))
}

/// The words (index, value) that make sequence numbers 1..=`count` all live (the migration's
/// start state).
pub(crate) fn all_live_words(count: u64) -> Vec<(u64, u64)> {
    let mut words: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for seq in 1..=count {
        let (word, shift) = place(seq);
        *words.entry(word).or_default() |= 0b01 << shift;
    }
    words.into_iter().collect()
}

/// Words read per `get_many`.
const WORDS_PER_READ: usize = 512;

/// Every live sequence number of `kind` up to `max_seq`, ascending. Reads `max_seq / 31` small
/// counters and no document.
pub(crate) async fn live_seqs<K: Kv>(
    kv: &K,
    kind: Kind,
    max_seq: u64,
) -> Result<Vec<u64>, StoreError> {
    if max_seq == 0 {
        return Ok(Vec::new());
    }
    let (last_word, _) = place(max_seq);
    let blocks = last_word / SPREAD + 1;
    let mut seqs = Vec::new();
    for block in 0..blocks {
        let words: Vec<u64> = (block * SPREAD..(block + 1) * SPREAD).collect();
        let mut values = Vec::with_capacity(words.len());
        for chunk in words.chunks(WORDS_PER_READ) {
            let keys: Vec<String> = chunk.iter().map(|w| keys::live_word(kind, *w)).collect();
            values.extend(cas::read_counters(kv, &keys).await?);
        }
        for pair in 0..PAIRS {
            for (word, value) in words.iter().zip(&values) {
                if life_in(*value, (2 * pair) as u32) == Life::Live {
                    let seq = seq_at(*word, pair);
                    if seq <= max_seq {
                        seqs.push(seq);
                    }
                }
            }
        }
    }
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;
    use futures_executor::block_on;

    #[test]
    fn places_are_distinct_and_invertible() {
        let mut seen = std::collections::HashSet::new();
        for seq in 0..10_000u64 {
            let (word, shift) = place(seq);
            assert!(shift < 62);
            assert!(seen.insert((word, shift)));
            assert_eq!(seq_at(word, u64::from(shift / 2)), seq);
        }
        assert_ne!(place(1).0, place(2).0, "neighbours use different words");
    }

    #[test]
    fn pairs_only_move_forward_and_list_in_order() {
        let kv = MemoryKv::default();
        block_on(async {
            for seq in 1..=100 {
                assert_eq!(commit(&kv, Kind::User, seq).await.unwrap(), Ok(()));
            }
            assert_eq!(kill(&kv, Kind::User, 7).await.unwrap(), Ok(()));
            assert_eq!(
                commit(&kv, Kind::User, 7).await.unwrap(),
                Err(Already(Life::Dead))
            );
            assert_eq!(abort(&kv, Kind::User, 101).await.unwrap(), Ok(()));
            assert_eq!(
                commit(&kv, Kind::User, 101).await.unwrap(),
                Err(Already(Life::Dead))
            );
            let live = live_seqs(&kv, Kind::User, 101).await.unwrap();
            assert_eq!(live.len(), 99);
            assert!(live.windows(2).all(|w| w[0] < w[1]));
            assert!(!live.contains(&7));
            assert_eq!(life(&kv, Kind::User, 8).await.unwrap(), Life::Live);
            assert!(live_seqs(&kv, Kind::Group, 5).await.unwrap().is_empty());
        });
    }
}
