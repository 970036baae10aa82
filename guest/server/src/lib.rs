//! # scim-spin
//!
//! A SCIM 2.0 service provider (RFC 7644) for Users and Groups, as a Spin HTTP component on Spin
//! key-value storage. PATCH is applied by the `scim-patch` engine, linked in as a library. The SCIM
//! logic (`service`) works over the [`kv::Kv`] trait and plain [`http`] values, so it is tested
//! natively against [`kv::MemoryKv`]; the Spin glue (`spin_glue`, wasm32 only) is a thin adapter.

pub mod auth;
pub mod clock;
pub mod discovery;
pub mod http;
pub mod kv;
pub mod list;
pub mod password;
pub mod project;
pub mod service;
pub(crate) mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use store::Kind;

#[cfg(target_arch = "wasm32")]
mod spin_glue;
