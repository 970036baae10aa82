//! GET /Users, GET /Groups and POST .search (RFC 7644 §3.4.2, §3.4.3). A filter that an index
//! answers (`userName`/`displayName`/`externalId`/`id eq "…"`, `members[value eq "…"]` and
//! `members.value eq "…"` on groups, and `and`/`or` of these) reads only the candidates it names;
//! any other filter scans the liveness map and the documents in batches, evaluating the engine's
//! matcher on each and keeping only the requested page, so memory stays bounded and nothing that
//! does not match is rendered. An unfiltered, unsorted list reads the documents of its page only.
//! The full filter is always evaluated on every candidate: indexes only narrow.
use std::collections::BTreeSet;

use scim_patch::{CompValue, CompareOp, Filter};
use serde_json::{Value, json};

use super::{Failure, Outcome, Service};
use crate::http::Response;
use crate::kv::Kv;
use crate::list::{self, ListQuery};
use crate::project::Projection;
use crate::store::{Kind, Loaded};

/// Documents loaded per batch when scanning.
const SCAN_BATCH: usize = 200;

/// What a filter reads beyond the stored document: a user's `groups`; a group's `members`,
/// either only the ids its `value eq` clauses name, or all of them.
#[derive(Debug, Default)]
struct Derived {
    groups: bool,
    members: bool,
    member_ids: Option<BTreeSet<String>>,
    all_members: bool,
}

impl Derived {
    fn of(kind: Kind, filter: &Filter) -> Derived {
        let mut d = Derived::default();
        d.walk(kind, filter);
        d
    }

    fn walk(&mut self, kind: Kind, filter: &Filter) {
        match filter {
            Filter::Or(parts) | Filter::And(parts) => {
                for p in parts {
                    self.walk(kind, p);
                }
            }
            Filter::Not(inner) => self.walk(kind, inner),
            Filter::Present(path) | Filter::Compare(path, _, _) | Filter::ValuePath(path, _) => {
                if path.name.eq_ignore_ascii_case("groups") {
                    self.groups = true;
                }
                if path.name.eq_ignore_ascii_case("members") {
                    self.members = true;
                    match member_ids(kind, filter) {
                        Some(ids) => self.member_ids.get_or_insert_default().extend(ids),
                        None => self.all_members = true,
                    }
                }
            }
        }
    }
}

/// A core attribute named `name` (no sub-attribute, no extension URN other than the core one).
fn is_core(kind: Kind, path: &scim_patch::AttrPath, name: &str) -> bool {
    path.sub.is_none()
        && path.name.eq_ignore_ascii_case(name)
        && path
            .schema
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(kind.schema()))
}

/// The member ids `members[value eq "…"]` / `members.value eq "…"` name.
fn member_ids(kind: Kind, filter: &Filter) -> Option<BTreeSet<String>> {
    if kind != Kind::Group {
        return None;
    }
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::String(id))
            if path.name.eq_ignore_ascii_case("members")
                && path
                    .sub
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("value")) =>
        {
            Some(BTreeSet::from([id.clone()]))
        }
        Filter::ValuePath(path, inner) if path.name.eq_ignore_ascii_case("members") => {
            value_eq(inner)
        }
        _ => None,
    }
}

/// `value eq "id"` joined by `or` inside a value filter.
fn value_eq(filter: &Filter) -> Option<BTreeSet<String>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::String(id))
            if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() =>
        {
            Some(BTreeSet::from([id.clone()]))
        }
        Filter::Or(parts) => parts
            .iter()
            .map(value_eq)
            .try_fold(BTreeSet::new(), |mut a, ids| {
                a.extend(ids?);
                Some(a)
            }),
        Filter::And(parts) => parts.iter().find_map(value_eq),
        _ => None,
    }
}

impl<K: Kv> Service<'_, K> {
    /// The resources an index says can match `filter` (a superset, in sequence order), or
    /// `None` when no index answers it.
    async fn candidates(
        &self,
        kind: Kind,
        filter: &Filter,
    ) -> Result<Option<Vec<Loaded>>, Failure> {
        let mut found: Vec<Loaded> = match filter {
            Filter::Compare(path, CompareOp::Eq, CompValue::String(text)) => {
                if is_core(kind, path, kind.unique_attribute()) {
                    self.store
                        .find_by_name(kind, text)
                        .await?
                        .into_iter()
                        .collect()
                } else if is_core(kind, path, "externalId") {
                    self.store.find_by_external_id(kind, text).await?
                } else if is_core(kind, path, "id") {
                    self.store.load(kind, text).await?.into_iter().collect()
                } else if let Some(ids) = member_ids(kind, filter) {
                    self.groups_listing(&ids).await?
                } else {
                    return Ok(None);
                }
            }
            Filter::ValuePath(..) => match member_ids(kind, filter) {
                Some(ids) => self.groups_listing(&ids).await?,
                None => return Ok(None),
            },
            Filter::And(parts) => {
                let mut narrowed = None;
                for part in parts {
                    if let Some(found) = Box::pin(self.candidates(kind, part)).await? {
                        narrowed = Some(found);
                        break;
                    }
                }
                match narrowed {
                    Some(found) => found,
                    None => return Ok(None),
                }
            }
            Filter::Or(parts) => {
                let mut all = Vec::new();
                for part in parts {
                    match Box::pin(self.candidates(kind, part)).await? {
                        Some(found) => all.extend(found),
                        None => return Ok(None),
                    }
                }
                all
            }
            _ => return Ok(None),
        };
        found.sort_by_key(|l| l.seq);
        found.dedup_by_key(|l| l.seq);
        Ok(Some(found))
    }

    /// The groups listing any of `ids` as a member.
    async fn groups_listing(&self, ids: &BTreeSet<String>) -> Result<Vec<Loaded>, Failure> {
        let mut seqs = Vec::new();
        for id in ids {
            seqs.extend(
                self.store
                    .groups_of(id)
                    .await?
                    .into_iter()
                    .map(|(_, e)| e.s),
            );
        }
        seqs.sort_unstable();
        seqs.dedup();
        Ok(self.store.load_seqs(Kind::Group, &seqs).await?)
    }

    /// The document a filter is evaluated on: the resource with the derived parts it reads.
    async fn evaluated(&self, loaded: &Loaded, needs: &Derived) -> Result<Value, Failure> {
        let mut excluded = Vec::new();
        if !needs.groups {
            excluded.push("groups");
        }
        let subset = needs.members && !needs.all_members;
        if !needs.members || subset {
            excluded.push("members");
        }
        let projection = Projection::new(None, Some(&excluded.join(",")));
        let (mut doc, _) = self.render(loaded, &projection).await?;
        if subset && let Some(ids) = &needs.member_ids {
            let ids: Vec<String> = ids.iter().cloned().collect();
            let members: Vec<Value> = self
                .store
                .members_among(loaded.seq, &ids)
                .await?
                .iter()
                .map(|m| self.member_value(m))
                .collect();
            if !members.is_empty() {
                doc.insert("members".into(), Value::Array(members));
            }
        }
        Ok(Value::Object(doc))
    }

    /// Whether `loaded` matches `filter` (a filter naming one type's attributes simply does not
    /// match the other type's resources in a root `.search`).
    async fn matches(
        &self,
        loaded: &Loaded,
        filter: &Filter,
        needs: &Derived,
        mixed: bool,
    ) -> Result<bool, Failure> {
        let doc = self.evaluated(loaded, needs).await?;
        match self.engine.matches_parsed(&doc, filter) {
            Ok(keep) => Ok(keep),
            Err(_) if mixed => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Lists (GET) or searches (POST .search) resources of the given kinds.
    pub(crate) async fn search(&self, kinds: &[Kind], query: &ListQuery) -> Outcome {
        if let Some(filter) = &query.filter {
            super::body::check_filter_readable(self.engine, filter, kinds)?;
        }
        let mut page = Page::new(query);
        for &kind in kinds {
            let Some(filter) = &query.filter else {
                if query.sort_by.is_none() {
                    self.unfiltered_page(kind, &mut page).await?;
                    continue;
                }
                let live = self.store.live_seqs(kind).await?;
                {
                    for chunk in live.chunks(SCAN_BATCH) {
                        for loaded in self.store.load_seqs(kind, chunk).await? {
                            page.push(loaded);
                        }
                    }
                }
                continue;
            };
            let needs = Derived::of(kind, filter);
            let mixed = kinds.len() > 1;
            match self.candidates(kind, filter).await? {
                Some(found) => {
                    for loaded in found {
                        if self.matches(&loaded, filter, &needs, mixed).await? {
                            page.push(loaded);
                        }
                    }
                }
                None => {
                    let live = self.store.live_seqs(kind).await?;
                    for chunk in live.chunks(SCAN_BATCH) {
                        for loaded in self.store.load_seqs(kind, chunk).await? {
                            if self.matches(&loaded, filter, &needs, mixed).await? {
                                page.push(loaded);
                            }
                        }
                    }
                }
            }
        }
        let (total, window) = match query.sort_by {
            None => (page.total, page.window),
            Some(_) => {
                let total = page.sorted.len() as u64;
                (total, self.sorted_window(page.sorted, query).await?)
            }
        };
        let mut resources = Vec::with_capacity(window.len());
        for loaded in &window {
            let (resource, _) = self.render(loaded, &query.projection).await?;
            resources.push(Value::Object(query.projection.apply(loaded.kind, resource)));
        }
        Ok(Response::json(
            200,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": total,
                "itemsPerPage": resources.len(),
                "startIndex": query.start_index,
                "Resources": resources
            }),
        ))
    }

    /// An unfiltered, unsorted page: a slice of the live sequence numbers, counted from the
    /// liveness map. Loading the slice may finish a delete a stopped request left (the
    /// resource vanishes); the map is then read again, so the total always counts what is listed.
    async fn unfiltered_page(&self, kind: Kind, page: &mut Page<'_>) -> Result<(), Failure> {
        let (total, window) = (page.total, page.window.len());
        for _ in 0..4 {
            let live = self.store.live_seqs(kind).await?;
            let slice = page.slice(live.len() as u64);
            let wanted = slice.len();
            let loaded = self.store.load_seqs(kind, &live[slice]).await?;
            if loaded.len() == wanted {
                page.window.extend(loaded);
                return Ok(());
            }
            page.total = total;
            page.window.truncate(window);
        }
        Err(Failure::Internal(format!(
            "the {} list kept changing while it was read",
            kind.name()
        )))
    }

    /// Sorts the matches' keys and loads the requested page.
    async fn sorted_window(
        &self,
        mut sorted: Vec<(Option<Value>, Kind, u64)>,
        query: &ListQuery,
    ) -> Result<Vec<Loaded>, Failure> {
        sorted.sort_by(|(a, ka, sa), (b, kb, sb)| {
            let ord = list::compare(a.as_ref(), b.as_ref());
            // Unassigned values sort last in both orders (RFC 7644 §3.4.2.3).
            let ord = if query.descending && a.is_some() && b.is_some() {
                ord.reverse()
            } else {
                ord
            };
            ord.then((ka, sa).cmp(&(kb, sb)))
        });
        let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut window = Vec::new();
        for (_, kind, seq) in sorted.into_iter().skip(skip).take(query.count) {
            window.extend(self.store.load_seqs(kind, &[seq]).await?);
        }
        Ok(window)
    }
}

/// A list's page, gathered as matches stream by: the total, the resources of the requested
/// window, or (when sorting) every match's sort key and place.
struct Page<'q> {
    query: &'q ListQuery,
    skip: u64,
    total: u64,
    window: Vec<Loaded>,
    sorted: Vec<(Option<Value>, Kind, u64)>,
}

impl<'q> Page<'q> {
    fn new(query: &'q ListQuery) -> Self {
        Page {
            query,
            skip: query.start_index.saturating_sub(1),
            total: 0,
            window: Vec::new(),
            sorted: Vec::new(),
        }
    }

    /// One match.
    fn push(&mut self, loaded: Loaded) {
        if let Some(path) = &self.query.sort_by {
            let key = list::sort_key(&loaded.doc.res, path).cloned();
            self.sorted.push((key, loaded.kind, loaded.seq));
            return;
        }
        if self.total >= self.skip && self.window.len() < self.query.count {
            self.window.push(loaded);
        }
        self.total += 1;
    }

    /// `count` more matches that need no evaluation: counts them and answers which of them
    /// fall in the window.
    fn slice(&mut self, count: u64) -> std::ops::Range<usize> {
        let from = self.skip.saturating_sub(self.total).min(count);
        let room = (self.query.count - self.window.len()) as u64;
        let to = (from + room).min(count);
        self.total += count;
        from as usize..to as usize
    }
}
