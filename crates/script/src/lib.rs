//! Runs users' NiFi ExecuteScript (Jython) scripts **unchanged** on CPython 3, fast and safely.
//!
//! Akinon Integrator runs every flow's Python steps in NiFi's ExecuteScript processor under
//! Jython 2.7. This crate gives those scripts the same world on CPython 3: the globals
//! `session`, `REL_SUCCESS`, `REL_FAILURE`, `log` and `context`; the Java classes they import
//! (`org.apache.nifi.processor.io.StreamCallback`, `org.apache.commons.io.IOUtils`,
//! `java.nio.charset.StandardCharsets`, `java.lang.String`, ...) as pure-Python shims; and NiFi's
//! session semantics (immutable FlowFile snapshots, commit/rollback, transfer rules). A simpler
//! native form, a module defining `transform(data, attributes)`, is detected automatically.
//!
//! The central type is [`ScriptPool`]: `ScriptPool::start(config)`, then
//! `pool.run(&script, content, attributes)` returns a [`RunResult`] (content, attributes,
//! relationship, printed output, traceback), and `pool.check(&script)` compiles a script when a
//! flow is loaded.
//!
//! ```
//! use std::collections::BTreeMap;
//! use omnibridge_script::{PoolConfig, Relationship, Script, ScriptPool};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let pool = ScriptPool::start(PoolConfig { workers: 1, ..PoolConfig::default() }).await?;
//! let script = Script::new(
//!     "import json\n\
//!      ff = session.get()\n\
//!      order = json.loads(session.read(ff).readAllBytes())\n\
//!      ff = session.putAttribute(ff, 'order.number', order['number'])\n\
//!      session.transfer(ff, REL_SUCCESS)\n",
//! );
//! let result = pool.run(&script, r#"{"number": "1001"}"#, BTreeMap::new()).await?;
//! assert_eq!(result.relationship, Some(Relationship::Success));
//! assert_eq!(result.attributes["order.number"], "1001");
//! pool.shutdown().await;
//! # Ok::<(), omnibridge_script::ScriptError>(())
//! # }).unwrap();
//! ```
//!
//! # Key design decision: a warm pool of isolated worker processes
//! Scripts run out of process, in long-lived `python3 -I` workers (one per core by default)
//! speaking length-prefixed JSON over pipes. Out of process, because a user's script can loop
//! forever, allocate without bound, segfault or `os._exit()`: each worker has an address-space
//! cap, runs have a time limit, and whatever dies is killed with its process group and replaced
//! while the engine carries on. Long-lived, because starting Python costs tens of milliseconds
//! while a warm round trip costs tens of microseconds; each worker compiles a script once and
//! caches it by content hash. Workers are sandboxed (see Isolation below).
//!
//! Each run gets a fresh module namespace (NiFi's Jython engine keeps module globals between
//! runs of one processor; relying on that was always accidental).
//!
//! # Decisions where Jython and CPython differ
//! - Attribute values are strings, as in NiFi. `bytes` are decoded as UTF-8 (in Jython
//!   `s.encode('utf-8')` is still a string, so that is what the author meant); any other type
//!   (`int`, `None`, ...) is an error naming the attribute, as Jython rejects it too.
//! - Output streams accept `bytes`, `bytearray`, `str` (written as UTF-8, any characters: Jython
//!   failed on bytes >= 0x80 in `bytearray(...)`), a single `int` byte and jarray byte lists.
//! - `unicode`, `basestring`, `long`, `xrange`, `unichr`, `reduce`, `raw_input` exist as their
//!   Python 3 equivalents, so legacy scripts using them run unchanged. Syntax that Python 3
//!   rejects (print statements, `except E, e`) is reported with its line and the fix, and
//!   [`py2::migrate`] (`omnibridge script migrate`) rewrites it.
//! - Where Jython silently computes something else (`7 / 2`, `round`, dict order), CPython 3
//!   semantics apply; `migrate` lists those places to review.
//! - The input FlowFile carries exactly the attributes given (no synthetic `uuid`/`filename`);
//!   FlowFiles created by `session.create()` get NiFi's core attributes.
//! - `context.getProperty(name).evaluateAttributeExpressions()` returns the value as given:
//!   Expression Language is evaluated by the engine before the run.
//!
//! # What it does not do
//! No Java: only the classes listed in `python/worker.py` exist. No state between runs, no
//! provenance, no counters (`adjustCounter` is accepted and ignored).
//!
//! # Isolation
//! Scripts are kept away from the engine ([`IsolationConfig`], [`ScriptPool::protections`]):
//! - a scrubbed environment: none of the engine's variables, `HOME`/`TMPDIR` point at a private
//!   temp dir removed with the worker;
//! - a PID namespace: the engine's `/proc/<pid>` (environment, memory) does not exist for
//!   scripts, and every process a script starts, `setsid()` or not, dies with its worker;
//! - a private mount namespace whose root holds only the interpreter, its libraries,
//!   `/usr`, `/lib*`, a few `/etc` files (DNS, TLS, time zones) and configured extra paths,
//!   read-only, plus the private temp dir at `/tmp` and a fresh `/proc`: the store, key files,
//!   flow directories and `/etc/shadow` are not there;
//! - an unprivileged user (`nobody` when the engine runs as root; otherwise a user namespace
//!   mapping only the engine's uid, with every capability dropped), `no_new_privs`, and
//!   Landlock where the kernel has it (writes only where allowed; signals stay inside);
//! - the network is kept: Post Scripts call CRMs.
//!
//! [`Isolation::Enforce`] (the default) refuses to start workers without the first four;
//! [`Isolation::BestEffort`] applies what the machine offers and names the rest in a warning;
//! [`Isolation::Off`] is for debugging. Imported modules are shared by the runs of one worker
//! (as in NiFi's Jython engine), so a script that monkey-patches a standard module affects later
//! runs on that worker until it is recycled.

#![deny(missing_docs)]

mod config;
mod error;
mod output;
mod pool;
mod protocol;
pub mod py2;
mod result;
mod script;
mod worker;

pub use config::{Isolation, IsolationConfig, PoolConfig, Protections};
pub use error::{CompileDiagnostic, ScriptError};
pub use pool::{CheckReport, ScriptPool};
pub use py2::{Migration, Py2Hint, migrate};
pub use result::{LogEntry, OutputFlowFile, Relationship, RunOptions, RunResult};
pub use script::{Script, ScriptForm};
