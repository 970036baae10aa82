//! How instances serve requests, as Spin 4.1 runs a `wasi:http@0.3` component (its HTTP
//! trigger's worker policy): wasmtime-wasi-http's `ProxyHandler` hands requests to instance
//! workers, and [`Instances`] says how an instance is made, how many requests it takes at once
//! and in all ([`InstanceReuse`]), and when it is dropped: after the idle timeout, or when its
//! newest request has run past [`RequestLimits::request_timeout`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::GuestTaskId;
use wasmtime::{Engine, Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::config::{InstanceReuse, RequestLimits};
use super::state::{InstanceState, Shared};

/// Makes the instances requests run in: the compiled, linked component and what each
/// instance's store gets.
pub(crate) struct Instances {
    pub(crate) engine: Engine,
    pub(crate) pre: ServicePre<InstanceState>,
    pub(crate) shared: Shared,
    pub(crate) limits: RequestLimits,
    pub(crate) reuse: InstanceReuse,
}

impl HandlerState for Instances {
    type StoreData = InstanceState;
    type WorkerExpiration = Expiry;
    type WorkerState = Admission;

    async fn instantiate(&self) -> wasmtime::Result<Instance<InstanceState, Expiry, Admission>> {
        let mut store = Store::new(
            &self.engine,
            InstanceState::new(&self.shared, self.limits.max_memory_bytes),
        );
        store.limiter(|state| &mut state.limits);
        // Every epoch tick a running guest yields to tokio: a busy guest cannot hold a worker
        // thread, and the worker gets to check its expiry (which drops an overrunning
        // instance). tokio's own yield puts the task behind the other ready tasks.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        let service = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy: Proxy::P3(service),
            view: <InstanceState as WasiHttpView>::http,
            expiration: Expiry::new(self.reuse.idle_timeout, self.limits.request_timeout),
            state: Admission {
                max_requests: self.reuse.max_requests.max(1),
                max_concurrent: self.reuse.max_concurrent.max(1),
                request_timeout: self.limits.request_timeout,
            },
        })
    }
}

/// When an instance is dropped: after `idle_timeout` with nothing to do, or `request_timeout`
/// after its newest request arrived while it still has work (requests, or what the guest does
/// after answering).
pub(crate) struct Expiry {
    idle_timeout: Duration,
    request_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Expiry {
    fn new(idle_timeout: Duration, request_timeout: Duration) -> Self {
        Expiry {
            idle_timeout,
            request_timeout,
            sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
        }
    }
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let expiry = self.get_mut();
        let timeout = match status {
            WorkerStatus::Idle => expiry.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => expiry.request_timeout,
        };
        let Some(deadline) = start.checked_add(timeout) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if expiry.sleep.deadline() != deadline {
            expiry.sleep.as_mut().reset(deadline);
        }
        expiry.sleep.as_mut().poll(cx)
    }
}

/// How many requests one instance takes, and how long each may run.
pub(crate) struct Admission {
    max_requests: usize,
    max_concurrent: usize,
    request_timeout: Duration,
}

impl WorkerState for Admission {
    type StoreData = InstanceState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, InstanceState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        Box::pin(tokio::time::sleep(self.request_timeout))
    }

    fn drop(&self, store: Store<InstanceState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            eprintln!("scim-host: an instance stopped: {error:?}");
        }
        drop(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_takes_requests_up_to_its_limits() {
        let admission = Admission {
            max_requests: 3,
            max_concurrent: 2,
            request_timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            admission.should_accept_request(0, 0),
            ShouldAccept::Yes
        ));
        assert!(matches!(
            admission.should_accept_request(1, 1),
            ShouldAccept::Yes
        ));
        assert!(matches!(
            admission.should_accept_request(2, 2),
            ShouldAccept::No
        ));
        assert!(matches!(
            admission.should_accept_request(0, 3),
            ShouldAccept::Never
        ));
    }
}
