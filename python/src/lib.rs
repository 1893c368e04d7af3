//! The native half of the `cairn` Python package: thin wrappers over the
//! library's `ops` functions, so Python reads and moves data exactly as the
//! CLI does.
//!
//! Every call that touches the disk or the network releases the GIL, so
//! other Python threads (a data loader's workers) run meanwhile. Reports
//! cross over as the JSON the CLI's `--json` prints (`schema` included),
//! decoded by the Python side; errors cross over as a kind (the CLI's
//! stable `kind`), a message with its causes, and the hint, which
//! `cairn.errors` turns into the matching exception class. Progress goes
//! to a silent reporter: a library call draws no bars.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use cairn::ops::open::{open as open_file, DataReader, OpenOptions};
use cairn::ops::Session;
use cairn::progress::Silent;

/// The CLI's JSON of a report: `{"schema": 1, ...}`.
#[derive(serde::Serialize)]
struct Versioned<'a, T: serde::Serialize> {
    schema: u32,
    #[serde(flatten)]
    report: &'a T,
}

fn to_json<T: serde::Serialize>(report: &T) -> PyResult<String> {
    serde_json::to_string(&Versioned { schema: 1, report })
        .map_err(|e| PyValueError::new_err(format!("cannot encode the report: {e}")))
}

/// A library error as the matching `cairn.errors` exception.
fn py_err(py: Python<'_>, e: &(dyn std::error::Error + 'static)) -> PyErr {
    let kind = cairn::explain::kind(e);
    let mut message = e.to_string();
    for cause in cairn::explain::causes(e) {
        message.push_str(&format!("\ncaused by: {cause}"));
    }
    let hint = cairn::explain::hint(e);
    if let Some(h) = &hint {
        message.push_str(&format!("\nhint: {h}"));
    }
    let made = py
        .import("cairn.errors")
        .and_then(|m| m.getattr("from_native"))
        .and_then(|f| f.call1((kind, message.clone(), hint)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn lib_err(py: Python<'_>, e: cairn::Error) -> PyErr {
    py_err(py, &e)
}

/// A failed read or seek: the library's error inside, or a plain I/O one.
fn io_err(py: Python<'_>, e: std::io::Error) -> PyErr {
    if e.get_ref().is_some_and(|r| r.is::<cairn::Error>()) {
        if let Some(Ok(inner)) = e.into_inner().map(|b| b.downcast::<cairn::Error>()) {
            return py_err(py, &*inner);
        }
        return pyo3::exceptions::PyOSError::new_err("read failed");
    }
    PyErr::from(e)
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// One open file: the library's streaming reader, behind a lock (Python
/// may share the object between threads; reads are serialized).
#[pyclass(module = "cairn._cairn")]
struct Reader {
    inner: Mutex<Option<DataReader>>,
    size: u64,
}

impl Reader {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut DataReader) -> std::io::Result<T> + Send,
    ) -> PyResult<T>
    where
        T: Send,
    {
        let r = py.detach(|| {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            match g.as_mut() {
                Some(r) => Ok(f(r)),
                None => Err(()),
            }
        });
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(io_err(py, e)),
            Err(()) => Err(PyValueError::new_err("I/O operation on closed file")),
        }
    }
}

#[pymethods]
impl Reader {
    /// The file's size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// Read into a writable buffer; returns the number of bytes read (0 at
    /// the end of the file).
    fn readinto(&self, py: Python<'_>, buf: PyBuffer<u8>) -> PyResult<usize> {
        if buf.readonly() || !buf.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "readinto needs a writable contiguous buffer",
            ));
        }
        let len = buf.len_bytes();
        // The view (and so the memory) stays valid while `buf` is held,
        // which is past the call; the address crosses the GIL release as
        // a number.
        let at = buf.buf_ptr() as usize;
        self.with(py, move |r| {
            // SAFETY: `at..at + len` is the exporter's writable buffer,
            // pinned by the view `buf` holds for the whole call.
            let out = unsafe { std::slice::from_raw_parts_mut(at as *mut u8, len) };
            let mut done = 0;
            while done < out.len() {
                match r.read(&mut out[done..])? {
                    0 => break,
                    n => done += n,
                }
            }
            Ok(done)
        })
    }

    /// Read up to `size` bytes (all that is left when negative).
    #[pyo3(signature = (size = -1))]
    fn read<'py>(&self, py: Python<'py>, size: i64) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, move |r| {
            let left = r.size().saturating_sub(r.position());
            let want = u64::try_from(size).map_or(left, |n| n.min(left));
            // One buffer for the whole request, so the reader sees how much
            // is wanted and fetches exactly those chunks (a read in small
            // steps would look sequential and read a window ahead).
            let mut out = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
            let mut done = 0;
            while done < out.len() {
                match r.read(&mut out[done..])? {
                    0 => break,
                    n => done += n,
                }
            }
            out.truncate(done);
            if size < 0 {
                // At the end: let the reader finish (and check the whole
                // file's hash when it was read in order).
                if r.read(&mut [0u8; 1])? != 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the file is longer than its recorded size",
                    ));
                }
            }
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Read up to and including the next newline (at most `size` bytes
    /// when `size` is not negative).
    #[pyo3(signature = (size = -1))]
    fn readline<'py>(&self, py: Python<'py>, size: i64) -> PyResult<Bound<'py, PyBytes>> {
        let line = self.with(py, move |r| {
            let limit = u64::try_from(size).unwrap_or(u64::MAX);
            let mut out = Vec::new();
            let mut buf = [0u8; 8192];
            while (out.len() as u64) < limit {
                let want = (limit - out.len() as u64).min(buf.len() as u64) as usize;
                let n = r.read(&mut buf[..want])?;
                if n == 0 {
                    break;
                }
                if let Some(k) = buf[..n].iter().position(|&b| b == b'\n') {
                    out.extend_from_slice(&buf[..=k]);
                    // Give back what followed the newline; it is still in
                    // the reader's window, so nothing is fetched again.
                    r.seek(SeekFrom::Current(-((n - k - 1) as i64)))?;
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &line))
    }

    /// Move the read position; `whence` as for `io.IOBase.seek`.
    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let to = match whence {
            0 if offset < 0 => return Err(PyValueError::new_err("negative seek position")),
            0 => SeekFrom::Start(offset as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(PyValueError::new_err("whence must be 0, 1 or 2")),
        };
        self.with(py, move |r| r.seek(to))
    }

    /// The read position.
    fn tell(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| Ok(r.position()))
    }

    /// What is being read and what has been fetched so far, as JSON.
    fn report(&self, py: Python<'_>) -> PyResult<String> {
        let report = self.with(py, |r| Ok(r.report()))?;
        to_json(&report)
    }

    /// Bytes of file data held in memory now.
    fn held(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |r| Ok(r.held()))
    }

    /// Let go of the file (and any scratch repository); idempotent.
    fn close(&self, py: Python<'_>) {
        let taken = py.detach(|| self.inner.lock().unwrap_or_else(|p| p.into_inner()).take());
        drop(taken);
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }
}

/// Open `path` of `repo` at `rev` for reading.
#[pyfunction]
#[pyo3(signature = (path, rev = None, repo = ".".to_string(), remote = None))]
fn open_reader(
    py: Python<'_>,
    path: String,
    rev: Option<String>,
    repo: String,
    remote: Option<String>,
) -> PyResult<Reader> {
    let opts = OpenOptions {
        rev,
        remote,
        cwd: cwd(),
        ..OpenOptions::new(repo, path)
    };
    let r = py
        .detach(|| open_file(opts, &Silent))
        .map_err(|e| lib_err(py, e))?;
    Ok(Reader {
        size: r.size(),
        inner: Mutex::new(Some(r)),
    })
}

/// `cairn ls` as JSON: tracked data at `rev` (or in the work tree).
#[pyfunction]
#[pyo3(signature = (paths, rev = None, repo = ".".to_string(), recursive = false))]
fn ls(
    py: Python<'_>,
    paths: Vec<String>,
    rev: Option<String>,
    repo: String,
    recursive: bool,
) -> PyResult<String> {
    use cairn::ops::ls::{ls, ls_url, LsOptions};
    let report = py.detach(|| -> cairn::Result<_> {
        let here = cwd();
        let dir = here.join(&repo);
        // As `cairn.open` takes it: a directory is a work tree unless it is
        // a bare git repository, read like a URL.
        let bare = dir.join("HEAD").is_file() && dir.join("objects").is_dir();
        if dir.is_dir() && !bare {
            let s = Session::open(&dir)?;
            let paths = rel_paths(&s, &paths)?;
            ls(
                &s,
                LsOptions {
                    rev,
                    paths,
                    recursive,
                },
                &Silent,
            )
        } else {
            let opts = LsOptions {
                rev: None,
                paths,
                recursive,
            };
            ls_url(
                &here,
                &repo,
                rev.as_deref().unwrap_or("HEAD"),
                opts,
                &Silent,
            )
        }
    });
    to_json(&report.map_err(|e| lib_err(py, e))?)
}

/// Repository-relative paths (given relative to the repository's root).
fn rel_paths(s: &Session, paths: &[String]) -> cairn::Result<Vec<String>> {
    let root = s.workspace().root().to_path_buf();
    paths
        .iter()
        .map(|p| s.workspace().rel_path(&root, Path::new(p)))
        .collect()
}

/// `cairn get` as JSON.
#[pyfunction]
#[pyo3(signature = (url, path, rev = "HEAD".to_string(), out = None, remote = None))]
fn get(
    py: Python<'_>,
    url: String,
    path: String,
    rev: String,
    out: Option<PathBuf>,
    remote: Option<String>,
) -> PyResult<String> {
    use cairn::ops::get::{get, GetOptions};
    let opts = GetOptions {
        rev,
        out,
        remote,
        ..GetOptions::new(cwd(), url, path)
    };
    let report = py
        .detach(|| get(opts, &Silent, None))
        .map_err(|e| lib_err(py, e))?;
    if let Some(e) = report.failure() {
        return Err(lib_err(py, e));
    }
    to_json(&report)
}

/// A cairn repository, opened once per call (each call is one command).
#[pyclass(module = "cairn._cairn")]
struct Repo {
    root: PathBuf,
}

impl Repo {
    fn run<T: serde::Serialize + Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Session) -> cairn::Result<T> + Send,
    ) -> PyResult<String> {
        let report = py
            .detach(|| Session::open(&self.root).and_then(|s| f(&s)))
            .map_err(|e| lib_err(py, e))?;
        to_json(&report)
    }
}

#[pymethods]
impl Repo {
    #[new]
    #[pyo3(signature = (path = ".".to_string()))]
    fn new(py: Python<'_>, path: String) -> PyResult<Repo> {
        let dir = cwd().join(path);
        let root = py
            .detach(|| Session::open(&dir).map(|s| s.workspace().root().to_path_buf()))
            .map_err(|e| lib_err(py, e))?;
        Ok(Repo { root })
    }

    /// Set up cairn in the git work tree at `path` (`cairn init --json`).
    #[staticmethod]
    fn init(py: Python<'_>, path: String) -> PyResult<String> {
        let dir = cwd().join(path);
        let report = py
            .detach(|| cairn::ops::init::init(&dir))
            .map_err(|e| lib_err(py, e))?;
        to_json(&report)
    }

    /// The repository's root directory.
    #[getter]
    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    #[pyo3(signature = (paths = Vec::new()))]
    fn status(&self, py: Python<'_>, paths: Vec<String>) -> PyResult<String> {
        self.run(py, |s| {
            let rels = rel_paths(s, &paths)?;
            cairn::ops::status::status(s, &rels, &Silent)
        })
    }

    #[pyo3(signature = (paths, untrack_git = false))]
    fn add(&self, py: Python<'_>, paths: Vec<String>, untrack_git: bool) -> PyResult<String> {
        self.run(py, |s| {
            let opts = cairn::ops::add::AddOptions {
                paths: rel_paths(s, &paths)?,
                untrack_git,
            };
            cairn::ops::add::add(s, opts, &Silent)
        })
    }

    #[pyo3(signature = (revs = Vec::new(), paths = Vec::new(), remote = None))]
    fn push(
        &self,
        py: Python<'_>,
        revs: Vec<String>,
        paths: Vec<String>,
        remote: Option<String>,
    ) -> PyResult<String> {
        self.run(py, |s| {
            let opts = cairn::ops::push::PushOptions {
                revs,
                paths: rel_paths(s, &paths)?,
                remote,
                ..Default::default()
            };
            cairn::ops::push::push(s, opts, &Silent, None)
        })
    }

    #[pyo3(signature = (rev = None, paths = Vec::new(), remote = None, force = false))]
    fn pull(
        &self,
        py: Python<'_>,
        rev: Option<String>,
        paths: Vec<String>,
        remote: Option<String>,
        force: bool,
    ) -> PyResult<String> {
        self.run(py, |s| {
            let opts = cairn::ops::pull::PullOptions {
                rev,
                paths: rel_paths(s, &paths)?,
                remote,
                force,
                no_cache: false,
            };
            let report = cairn::ops::pull::pull(s, opts, &Silent, None)?;
            if !report.missing.is_empty() {
                return Err(cairn::Error::DataNotOnRemote {
                    remote: report.fetch.remote.clone().unwrap_or_default(),
                    missing: report.missing.clone(),
                });
            }
            Ok(report)
        })
    }
}

/// The native part of `cairn`; use the `cairn` package, not this module.
#[pymodule]
fn _cairn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reader>()?;
    m.add_class::<Repo>()?;
    m.add_function(wrap_pyfunction!(open_reader, m)?)?;
    m.add_function(wrap_pyfunction!(ls, m)?)?;
    m.add_function(wrap_pyfunction!(get, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
