//! Which CPython minor version a code object was compiled by, when its marshal data does not
//! say: the opcode table that explains its instruction stream best.

use crate::marshal::{Code, Layout};
use crate::opcodes::{self, Op};

/// Pick the CPython minor version whose opcode table best explains the code (fewest invalid
/// opcodes, `RESUME` first for 3.11+), among the versions sharing the code's layout.
pub(super) fn detect_minor(code: &Code) -> u8 {
    let candidates: &[u8] = match code.layout {
        Layout::Py36 => &[7, 6],
        Layout::Py38 => &[10, 9, 8],
        Layout::Py311 => &[11, 12, 13, 14],
    };
    let mut codes: Vec<&Code> = vec![code];
    let mut i = 0;
    while let Some(c) = codes.get(i) {
        let kids: Vec<&Code> = c.children().collect();
        i += 1;
        if codes.len() + kids.len() > 64 {
            break;
        }
        codes.extend(kids);
    }
    // The layout's versions come first and win ties; another version wins only by fitting
    // strictly better (a code object built by hand, e.g. from `CodeType(...)` arguments in a
    // pickle, may carry a placeholder layout).
    let others = opcodes::MINORS
        .iter()
        .copied()
        .filter(|m| !candidates.contains(m));
    let mut best = (usize::MAX, candidates.first().copied().unwrap_or(11));
    for m in candidates.iter().copied().chain(others) {
        let score: usize = codes.iter().map(|c| version_misfit(c, m)).sum();
        if score < best.0 {
            best = (score, m);
        }
        if best.0 == 0 {
            break;
        }
    }
    best.1
}

/// How badly the instruction stream of `code` fits CPython 3.`minor`: invalid opcodes,
/// operands out of range for `co_names`/`co_consts`/locals, a missing `RESUME` (3.11+) and,
/// for 3.11, `CALL` without `PRECALL`.
fn version_misfit(code: &Code, minor: u8) -> usize {
    let Some(t) = opcodes::table(minor) else {
        return usize::MAX / 4;
    };
    let resume = opcodes::resume_opcode(minor);
    let (nnames, nconsts, nlocals) = (code.names.len(), code.consts.len(), code.varnames.len());
    let mut score = 0usize;
    let mut first_real = minor >= 11;
    let mut prev = Op::Nop;
    let mut ext = 0u32;
    for pair in code.code.chunks_exact(2) {
        let (op, raw) = match pair {
            [a, b] => (*a, *b),
            _ => continue,
        };
        let kind = t.get(usize::from(op)).copied().unwrap_or(Op::Invalid);
        let arg = ext | u32::from(raw);
        if kind == Op::ExtendedArg {
            ext = arg.checked_shl(8).unwrap_or(0);
            continue;
        }
        ext = 0;
        let idx = |a: u32| usize::try_from(a).unwrap_or(usize::MAX);
        let out_of_range = match kind {
            Op::Invalid => true,
            Op::LoadName
            | Op::StoreName
            | Op::StoreGlobal
            | Op::ImportName
            | Op::ImportFrom
            | Op::StoreAttr
            | Op::DeleteAttr
            | Op::LoadMethod
            | Op::LoadFromDictOrGlobals => idx(arg) >= nnames,
            Op::LoadGlobal => idx(if minor >= 11 { arg >> 1 } else { arg }) >= nnames,
            Op::LoadAttr => idx(if minor >= 12 { arg >> 1 } else { arg }) >= nnames,
            Op::LoadSuperAttr => idx(arg >> 2) >= nnames,
            Op::LoadConst | Op::ReturnConst | Op::KwNames => idx(arg) >= nconsts,
            Op::LoadFast | Op::StoreFast => idx(arg) >= nlocals,
            Op::LoadFastPair | Op::StoreFastLoadFast | Op::StoreFastStoreFast => {
                idx(arg >> 4) >= nlocals || idx(arg & 15) >= nlocals
            }
            _ => false,
        };
        if out_of_range {
            score += 10;
        }
        if first_real && kind != Op::Cache {
            // MAKE_CELL / COPY_FREE_VARS / RETURN_GENERATOR may precede RESUME.
            let prefix = (kind == Op::Nop || kind == Op::PushData) && Some(op) != resume;
            if !prefix {
                if Some(op) != resume {
                    score += 5;
                }
                first_real = false;
            }
        }
        if minor == 11 && kind == Op::Call && prev != Op::Nop {
            score += 5;
        }
        if kind != Op::Cache {
            prev = kind;
        }
    }
    score
}
