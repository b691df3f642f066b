//! Pickle streams: read as each loader reads them (weak guesses confirmed, framing views,
//! joblib's inline arrays, legacy torch), NumPy object arrays, then handed to the judge.

use modelguard_pickle::{Analysis, ErrorKind as PickleErrorKind, Options, Value};

use super::{Slice, Walk, join};
use crate::formats::{FormatId, npy};
use crate::judge::pickle::{self as pjudge, Context};
use crate::limits::Limits;
use crate::report::{Finding, Location, Member, Severity};
use crate::rules;
use crate::source::ReadAt;

/// The legacy torch magic number, as the VM renders a LONG.
const TORCH_MAGIC: &str = "119547037146038801333356";

/// First read of a pickle stream; grown once if the stream needs more.
const FIRST_WINDOW: u64 = 1 << 20;
/// First read of a stream only guessed to be a pickle (see [`PickleMode::Maybe`]).
const WEAK_WINDOW: u64 = 4 << 10;

impl Walk<'_> {
    /// Analyse a pickle stream. Returns the format, or `None` when a weakly sniffed stream
    /// turned out not to be a pickle.
    pub(crate) fn pickle(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        mode: PickleMode,
        depth: usize,
    ) -> Option<FormatId> {
        let size = src.size();
        let opts = Options {
            max_pickles: match mode {
                PickleMode::TorchLegacy => Some(5),
                _ => None,
            },
            joblib: true,
        };
        let limits = self.limits().clone();
        // A weak guess starts small: most such files fail as pickles within a few bytes,
        // and a real pickle that runs past the window is read again whole below.
        let weak = matches!(mode, PickleMode::Maybe | PickleMode::Hidden);
        let mut window = size.min(if weak { WEAK_WINDOW } else { FIRST_WINDOW });
        let mut data = self.read_window(src, window, member)?;
        let mut a = modelguard_pickle::analyze_with(&data, &limits.pickle, &opts);
        // A pickle hidden behind another format's magic is read to 1 MiB at most: a real
        // file of that format can look like a pickle stuck in one long line or string (a
        // safetensors header after `V`), and must not cost a read of max_pickle_bytes.
        let most = if mode == PickleMode::Hidden {
            FIRST_WINDOW
        } else {
            limits.max_pickle_bytes
        };
        if truncated(&a) && size > window && most > window {
            window = size.min(most);
            data = self.read_window(src, window, member)?;
            a = modelguard_pickle::analyze_with(&data, &limits.pickle, &opts);
        }
        if mode == PickleMode::Maybe && !looks_like_pickle(&a)
            || mode == PickleMode::Hidden && !imports_something(&a)
        {
            return None;
        }
        let mut format = match mode {
            PickleMode::TorchLegacy => FormatId::PytorchLegacy,
            _ => FormatId::Pickle,
        };
        // A stream whose first pickle is the torch magic number is a legacy torch file
        // (possibly with the magic computed at load time: then the VM sees the calls).
        if mode != PickleMode::TorchLegacy
            && a.pickles
                .first()
                .and_then(|p| p.result)
                .and_then(|r| a.value(r))
                == Some(&Value::BigInt(TORCH_MAGIC.into()))
        {
            format = FormatId::PytorchLegacy;
        }
        let joblib = a.imports.iter().any(|i| {
            i.module.as_deref() == Some("joblib.numpy_pickle")
                && i.name.as_deref() == Some("NumpyArrayWrapper")
        });
        if joblib {
            format = FormatId::Joblib;
            // The same bytes read by plain pickle.load (no inline arrays): another view.
            let plain = modelguard_pickle::analyze_with(
                &data,
                &limits.pickle,
                &Options {
                    joblib: false,
                    ..opts.clone()
                },
            );
            self.judge(&plain, member, false, depth, true);
        }
        self.frame_views(&a, &data, &limits, &opts, member);
        if let Some(err) = &a.error {
            let hit_limit = matches!(err.kind, PickleErrorKind::Limit(_));
            if truncated(&a) && size > limits.max_pickle_bytes {
                self.malformed(
                    format!(
                        "pickle stream larger than max_pickle_bytes ({})",
                        limits.max_pickle_bytes
                    ),
                    member,
                    Some(err.offset),
                    false,
                );
            } else {
                self.malformed(
                    format!("pickle: {err}"),
                    member,
                    Some(err.offset),
                    !hit_limit,
                );
            }
        }
        if a.trailing_bytes > 0 && format == FormatId::Pickle {
            let at = size.saturating_sub(a.trailing_bytes);
            self.push_finding(
                Finding::new(
                    &rules::PKL_TRAILING,
                    Severity::Info,
                    format!("{} bytes after the last pickle", a.trailing_bytes),
                )
                .at(Location {
                    member: member.map(str::to_string),
                    offset: Some(at),
                    opcode: None,
                }),
            );
        }
        let expects_pid =
            format == FormatId::PytorchLegacy || member.is_some_and(|m| m.ends_with(".pkl"));
        self.judge(&a, member, expects_pid, depth, false);
        Some(format)
    }

    /// Framing the loaders read differently (see `modelguard_pickle::Analysis::frame_straddle`
    /// and `frame_overrun`): the other view is analysed too, and the anomaly reported.
    pub(crate) fn frame_views(
        &mut self,
        a: &Analysis,
        data: &[u8],
        limits: &Limits,
        opts: &Options,
        member: Option<&str>,
    ) {
        let note = |w: &mut Self, sev: Severity, offset: u64, message: String| {
            w.push_finding(Finding::new(&rules::MALFORMED, sev, message).at(Location {
                member: member.map(str::to_string),
                offset: Some(offset),
                opcode: None,
            }));
        };
        if let Some(at) = a.frame_straddle {
            note(
                self,
                Severity::Medium,
                at,
                "pickle read crosses the end of a FRAME: pickle.loads reads on, pickle.load of \
                 a file (torch.load's io.BytesIO, frames above 8 KiB) skips the rest of the \
                 frame, pickle._Unpickler fails; every view analysed"
                    .into(),
            );
            let file_view = modelguard_pickle::analyze_file_view(data, &limits.pickle, opts);
            let pid = member.is_some_and(|m| m.ends_with(".pkl"));
            self.judge(&file_view, member, pid, 0, true);
        }
        if let Some(at) = a.frame_overrun {
            note(
                self,
                Severity::Low,
                at,
                "FRAME longer than the data: the C unpickler stops there, pickle._Unpickler \
                 runs what follows (analysed)"
                    .into(),
            );
        }
    }

    pub(crate) fn judge(
        &mut self,
        a: &Analysis,
        member: Option<&str>,
        expects_pid: bool,
        depth: usize,
        extra_view: bool,
    ) {
        let ctx = Context {
            expects_persistent_ids: expects_pid,
            max_depth: self.s.limits.pickle.max_depth,
            code_limits: self.s.limits.code.clone(),
        };
        for i in &a.imports {
            if let (Some(m), Some(n)) = (&i.module, &i.name) {
                self.imports.insert((m.clone(), n.clone()));
            }
        }
        let j = pjudge::judge(a, &ctx);
        self.judge_facts(crate::facts::Facts::Pickle(j.facts), member);
        if extra_view {
            return;
        }
        for (i, n) in j.nested.into_iter().enumerate() {
            let sub = join(member, &format!("nested[{i}]:{}", n.loader));
            let fmt = self.walk(&n.data, Some(&sub), &sub, depth + 1);
            self.members.push(Member {
                path: sub,
                format: fmt.unwrap_or(FormatId::Data).as_str().into(),
                size: n.data.len() as u64,
            });
        }
    }

    pub(crate) fn npy(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let Some(head) = self.read_window(src, (1 << 20) + 12, member) else {
            return FormatId::Numpy;
        };
        match npy::parse(&head) {
            Ok(h) if h.object => {
                self.judge_facts(npy_facts(&h), member);
                let sub = Slice {
                    src,
                    start: h.data_offset,
                };
                if self.pickle(&sub, member, PickleMode::Raw, depth).is_none() {
                    self.malformed(
                        "object array data is not a pickle".into(),
                        member,
                        Some(h.data_offset),
                        true,
                    );
                }
                FormatId::Numpy
            }
            Ok(h) => {
                self.judge_facts(npy_facts(&h), member);
                FormatId::Numpy
            }
            Err(e) => {
                self.malformed(format!("npy header: {e}"), member, Some(0), true);
                // Fail closed: numpy may still read an object dtype there, so data that
                // starts like a pickle is analysed as one.
                if let Some(at) = npy::data_offset(&head)
                    && let Ok(first) = crate::source::read_range(src, at, 1)
                    && first.first() == Some(&0x80)
                {
                    let sub = Slice { src, start: at };
                    let _ = self.pickle(&sub, member, PickleMode::Raw, depth);
                }
                FormatId::Numpy
            }
        }
    }
}

/// The facts of a NumPy header.
fn npy_facts(h: &npy::Header) -> crate::facts::Facts {
    crate::facts::Facts::Npy(npy::NpyFacts {
        descr: h.descr.clone(),
        object: h.object,
        data_offset: h.data_offset,
    })
}

/// How a pickle stream was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PickleMode {
    /// A PROTO opcode or a name says pickle.
    Raw,
    /// Only the first byte suggests a pickle (no PROTO, or PROTO 0/1): it is one if the VM
    /// completes a pickle or reaches an importable name ([`looks_like_pickle`]).
    Maybe,
    /// The file's magic bytes name another format, but its first byte also opens a pickle:
    /// reported only if the VM reaches an importable name ([`imports_something`]).
    Hidden,
    /// Legacy torch.save: five stacked pickles, then raw storages.
    TorchLegacy,
}

pub(crate) fn truncated(a: &Analysis) -> bool {
    matches!(
        a.error.as_ref().map(|e| &e.kind),
        Some(PickleErrorKind::Truncated)
    )
}

/// A weakly sniffed stream is a pickle when it completed one pickle, or reached an import
/// before failing (code that runs before the error still runs).
fn looks_like_pickle(a: &Analysis) -> bool {
    // A completed stream counts unless its only imports are names no import accepts: the
    // unpickler stops at the first of them (a CSV line after a `c` reads as a GLOBAL).
    let completed = a.pickles.first().is_some_and(|p| p.result.is_some())
        && a.pickles.first().is_some_and(|p| p.opcodes >= 2);
    (completed && a.imports.is_empty()) || imports_something(a)
}

/// Whether the stream reaches an import the unpickler could resolve. Every call needs one.
/// A GLOBAL opcode letter at the start of a text file or a tar header (`config.json\0…`)
/// reads lines with spaces or NULs as the module name, which no import accepts; names
/// computed at load time count.
fn imports_something(a: &Analysis) -> bool {
    fn plausible(name: Option<&str>) -> bool {
        name.is_none_or(|n| {
            !n.is_empty()
                && n.len() <= 512
                && !n.chars().any(|c| c.is_whitespace() || c.is_control())
        })
    }
    // `__import__` finds a module only by a dotted path of identifiers (a finder looks for
    // `part.py` or `part/`): the first line of a CSV (`const_p1,const_p2,…`) is no module.
    fn module_path(name: Option<&str>) -> bool {
        name.is_none_or(|n| {
            n.split('.').all(|part| {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric())
            })
        })
    }
    a.imports.iter().any(|i| {
        plausible(i.module.as_deref())
            && module_path(i.module.as_deref())
            && plausible(i.name.as_deref())
    })
}
