//! Per-version opcode tables: which CPython opcode number means what, for the few dozen
//! instructions the bytecode analyser models (loads, stores, imports, calls, constant
//! building). Every other valid opcode is [`Op::Other`] (its stack effect is not modelled:
//! the abstract stack is reset); numbers a version does not define are [`Op::Invalid`].

use std::sync::OnceLock;

#[path = "opcode_tables.rs"]
mod opcode_tables;

/// Instructions the analyser models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Invalid,
    Other,
    Nop,
    Cache,
    ExtendedArg,
    PopTop,
    PushNull,
    LoadConst,
    LoadSmallInt,
    ReturnConst,
    ReturnValue,
    LoadName,
    LoadGlobal,
    LoadFast,
    LoadFastPair,
    LoadDeref,
    LoadFromDictOrGlobals,
    LoadFromDictOrDeref,
    LoadAttr,
    LoadMethod,
    LoadSuperAttr,
    LoadBuildClass,
    LoadLocals,
    StoreName,
    StoreGlobal,
    StoreFast,
    StoreFastLoadFast,
    StoreFastStoreFast,
    StoreDeref,
    StoreAttr,
    StoreSubscr,
    StoreSlice,
    DeleteAttr,
    DeleteSubscr,
    ImportName,
    ImportFrom,
    ImportStar,
    CallFunction,
    CallFunctionKw,
    CallFunctionEx,
    CallMethod,
    Call,
    CallKw,
    KwNames,
    CallIntrinsic1,
    CallIntrinsic2,
    /// Old-style binary operator (≤ 3.10), with its operator.
    Binary(crate::engine::BinOp),
    /// `BINARY_OP` (3.11+), operator in the argument.
    BinOpArg,
    BinarySubscr,
    BinarySlice,
    BuildSlice,
    Unary(crate::engine::UnOp),
    /// Pops two, pushes a data value (comparisons).
    Compare,
    /// Pops one, pushes it back unchanged (GET_ITER, LIST_TO_TUPLE…).
    Keep,
    ToBool,
    FormatSimple,
    FormatValue,
    FormatWithSpec,
    ConvertValue,
    BuildTuple,
    BuildList,
    BuildSet,
    BuildMap,
    BuildConstKeyMap,
    BuildString,
    ListAppend,
    ListExtend,
    /// Pops one (SET_UPDATE, DICT_MERGE, PRINT_EXPR…).
    Pop1,
    /// Pops two (MAP_ADD, END_FOR in 3.12…).
    Pop2,
    /// Pushes a data value (GET_LEN, LOAD_ASSERTION_ERROR…).
    PushData,
    MakeFunction,
    SetFunctionAttribute,
    DupTop,
    DupTopTwo,
    RotTwo,
    RotThree,
    RotFour,
    RotN,
    Copy,
    Swap,
    UnpackSequence,
    ForIter,
    YieldValue,
    RaiseVarargs,
    /// Pops one, pushes two (BEFORE_WITH, SETUP_WITH, LOAD_SPECIAL).
    Pop1Push2,
    PopJump,
    JumpOrPop,
    JumpForward,
    JumpBackward,
    JumpAbsolute,
    Terminate,
}

fn op_from_name(name: &str, minor: u8) -> Op {
    use crate::engine::{BinOp as B, UnOp as U};
    match name {
        "NOP" | "RESUME" | "PRECALL" | "COPY_FREE_VARS" | "MAKE_CELL" | "NOT_TAKEN"
        | "SETUP_ANNOTATIONS" | "POP_BLOCK" | "SETUP_FINALLY" | "SETUP_LOOP" | "SETUP_EXCEPT"
        | "BEGIN_FINALLY" | "DELETE_NAME" | "DELETE_GLOBAL" | "DELETE_FAST" | "DELETE_DEREF"
        | "EXIT_INIT_CHECK" => Op::Nop,
        "CACHE" => Op::Cache,
        "EXTENDED_ARG" => Op::ExtendedArg,
        "POP_TOP" => Op::PopTop,
        "PUSH_NULL" => Op::PushNull,
        "LOAD_CONST" => Op::LoadConst,
        "LOAD_SMALL_INT" => Op::LoadSmallInt,
        "RETURN_CONST" => Op::ReturnConst,
        "RETURN_VALUE" => Op::ReturnValue,
        "LOAD_NAME" => Op::LoadName,
        "LOAD_GLOBAL" => Op::LoadGlobal,
        "LOAD_FAST" | "LOAD_FAST_CHECK" | "LOAD_FAST_AND_CLEAR" | "LOAD_FAST_BORROW" => {
            Op::LoadFast
        }
        "LOAD_FAST_LOAD_FAST" | "LOAD_FAST_BORROW_LOAD_FAST_BORROW" => Op::LoadFastPair,
        "LOAD_DEREF" | "LOAD_CLOSURE" | "LOAD_CLASSDEREF" => Op::LoadDeref,
        "LOAD_FROM_DICT_OR_GLOBALS" => Op::LoadFromDictOrGlobals,
        "LOAD_FROM_DICT_OR_DEREF" => Op::LoadFromDictOrDeref,
        "LOAD_ATTR" => Op::LoadAttr,
        "LOAD_METHOD" => Op::LoadMethod,
        "LOAD_SUPER_ATTR" => Op::LoadSuperAttr,
        "LOAD_BUILD_CLASS" => Op::LoadBuildClass,
        "LOAD_LOCALS" => Op::LoadLocals,
        "STORE_NAME" => Op::StoreName,
        "STORE_GLOBAL" => Op::StoreGlobal,
        "STORE_FAST" | "STORE_FAST_MAYBE_NULL" => Op::StoreFast,
        "STORE_FAST_LOAD_FAST" => Op::StoreFastLoadFast,
        "STORE_FAST_STORE_FAST" => Op::StoreFastStoreFast,
        "STORE_DEREF" => Op::StoreDeref,
        "STORE_ATTR" => Op::StoreAttr,
        "STORE_SUBSCR" => Op::StoreSubscr,
        "STORE_SLICE" => Op::StoreSlice,
        "DELETE_ATTR" => Op::DeleteAttr,
        "DELETE_SUBSCR" => Op::DeleteSubscr,
        "IMPORT_NAME" => Op::ImportName,
        "IMPORT_FROM" => Op::ImportFrom,
        "IMPORT_STAR" => Op::ImportStar,
        "CALL_FUNCTION" => Op::CallFunction,
        "CALL_FUNCTION_KW" => Op::CallFunctionKw,
        "CALL_FUNCTION_EX" => Op::CallFunctionEx,
        "CALL_METHOD" => Op::CallMethod,
        "CALL" => Op::Call,
        "CALL_KW" => Op::CallKw,
        "KW_NAMES" => Op::KwNames,
        "CALL_INTRINSIC_1" => Op::CallIntrinsic1,
        "CALL_INTRINSIC_2" => Op::CallIntrinsic2,
        "BINARY_POWER" | "INPLACE_POWER" => Op::Binary(B::Pow),
        "BINARY_MULTIPLY" | "INPLACE_MULTIPLY" => Op::Binary(B::Mul),
        "BINARY_MATRIX_MULTIPLY" | "INPLACE_MATRIX_MULTIPLY" => Op::Binary(B::MatMul),
        "BINARY_MODULO" | "INPLACE_MODULO" => Op::Binary(B::Mod),
        "BINARY_ADD" | "INPLACE_ADD" => Op::Binary(B::Add),
        "BINARY_SUBTRACT" | "INPLACE_SUBTRACT" => Op::Binary(B::Sub),
        "BINARY_FLOOR_DIVIDE" | "INPLACE_FLOOR_DIVIDE" => Op::Binary(B::FloorDiv),
        "BINARY_TRUE_DIVIDE" | "INPLACE_TRUE_DIVIDE" => Op::Binary(B::Div),
        "BINARY_LSHIFT" | "INPLACE_LSHIFT" => Op::Binary(B::LShift),
        "BINARY_RSHIFT" | "INPLACE_RSHIFT" => Op::Binary(B::RShift),
        "BINARY_AND" | "INPLACE_AND" => Op::Binary(B::BitAnd),
        "BINARY_XOR" | "INPLACE_XOR" => Op::Binary(B::BitXor),
        "BINARY_OR" | "INPLACE_OR" => Op::Binary(B::BitOr),
        "BINARY_OP" => Op::BinOpArg,
        "BINARY_SUBSCR" => Op::BinarySubscr,
        "BINARY_SLICE" => Op::BinarySlice,
        "BUILD_SLICE" => Op::BuildSlice,
        "UNARY_NEGATIVE" => Op::Unary(U::Neg),
        "UNARY_POSITIVE" => Op::Unary(U::Pos),
        "UNARY_NOT" => Op::Unary(U::Not),
        "UNARY_INVERT" => Op::Unary(U::Invert),
        "COMPARE_OP" | "IS_OP" | "CONTAINS_OP" => Op::Compare,
        "GET_ITER" | "LIST_TO_TUPLE" | "GET_AWAITABLE" | "GET_YIELD_FROM_ITER" | "GET_AITER" => {
            Op::Keep
        }
        "TO_BOOL" => Op::ToBool,
        "FORMAT_SIMPLE" => Op::FormatSimple,
        "FORMAT_VALUE" => Op::FormatValue,
        "FORMAT_WITH_SPEC" => Op::FormatWithSpec,
        "CONVERT_VALUE" => Op::ConvertValue,
        "BUILD_TUPLE" => Op::BuildTuple,
        "BUILD_LIST" => Op::BuildList,
        "BUILD_SET" => Op::BuildSet,
        "BUILD_MAP" => Op::BuildMap,
        "BUILD_CONST_KEY_MAP" => Op::BuildConstKeyMap,
        "BUILD_STRING" => Op::BuildString,
        "LIST_APPEND" | "SET_ADD" => Op::ListAppend,
        "LIST_EXTEND" => Op::ListExtend,
        "SET_UPDATE" | "DICT_UPDATE" | "DICT_MERGE" | "PRINT_EXPR" | "POP_ITER" => Op::Pop1,
        "MAP_ADD" => Op::Pop2,
        "END_FOR" if minor == 12 => Op::Pop2,
        "END_FOR" => Op::Pop1,
        "GET_LEN" | "LOAD_ASSERTION_ERROR" | "LOAD_COMMON_CONSTANT" | "RETURN_GENERATOR" => {
            Op::PushData
        }
        "MAKE_FUNCTION" => Op::MakeFunction,
        "SET_FUNCTION_ATTRIBUTE" => Op::SetFunctionAttribute,
        "DUP_TOP" => Op::DupTop,
        "DUP_TOP_TWO" => Op::DupTopTwo,
        "ROT_TWO" => Op::RotTwo,
        "ROT_THREE" => Op::RotThree,
        "ROT_FOUR" => Op::RotFour,
        "ROT_N" => Op::RotN,
        "COPY" => Op::Copy,
        "SWAP" => Op::Swap,
        "UNPACK_SEQUENCE" => Op::UnpackSequence,
        "FOR_ITER" => Op::ForIter,
        "YIELD_VALUE" => Op::YieldValue,
        "RAISE_VARARGS" => Op::RaiseVarargs,
        "BEFORE_WITH" | "BEFORE_ASYNC_WITH" | "SETUP_WITH" | "LOAD_SPECIAL" => Op::Pop1Push2,
        "POP_JUMP_IF_FALSE"
        | "POP_JUMP_IF_TRUE"
        | "POP_JUMP_IF_NONE"
        | "POP_JUMP_IF_NOT_NONE"
        | "POP_JUMP_FORWARD_IF_FALSE"
        | "POP_JUMP_FORWARD_IF_TRUE"
        | "POP_JUMP_FORWARD_IF_NONE"
        | "POP_JUMP_FORWARD_IF_NOT_NONE"
        | "POP_JUMP_BACKWARD_IF_FALSE"
        | "POP_JUMP_BACKWARD_IF_TRUE"
        | "POP_JUMP_BACKWARD_IF_NONE"
        | "POP_JUMP_BACKWARD_IF_NOT_NONE" => Op::PopJump,
        "JUMP_IF_FALSE_OR_POP" | "JUMP_IF_TRUE_OR_POP" => Op::JumpOrPop,
        "JUMP_FORWARD" => Op::JumpForward,
        "JUMP_BACKWARD" | "JUMP_BACKWARD_NO_INTERRUPT" => Op::JumpBackward,
        "JUMP_ABSOLUTE" => Op::JumpAbsolute,
        "RERAISE" => Op::Terminate,
        _ => Op::Other,
    }
}

/// The opcode table of CPython 3.`minor` (3.6–3.14).
pub(crate) fn table(minor: u8) -> Option<&'static [Op; 256]> {
    static TABLES: OnceLock<Vec<(u8, [Op; 256])>> = OnceLock::new();
    let all = TABLES.get_or_init(|| {
        opcode_tables::TABLES
            .iter()
            .map(|(minor, ops)| {
                let mut t = [Op::Invalid; 256];
                for (name, num) in ops.iter() {
                    if let Some(slot) = t.get_mut(usize::from(*num)) {
                        *slot = op_from_name(name, *minor);
                    }
                }
                (*minor, t)
            })
            .collect()
    });
    all.iter().find(|(m, _)| *m == minor).map(|(_, t)| t)
}

/// Supported minor versions, oldest first.
pub(crate) const MINORS: &[u8] = &[6, 7, 8, 9, 10, 11, 12, 13, 14];

/// The `RESUME` opcode number of 3.11+ versions.
pub(crate) fn resume_opcode(minor: u8) -> Option<u8> {
    let ops = opcode_tables::TABLES.iter().find(|(m, _)| *m == minor)?.1;
    ops.iter().find(|(n, _)| *n == "RESUME").map(|(_, o)| *o)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        // Spot checks against CPython's opcode tables.
        assert_eq!(table(6).unwrap()[131], Op::CallFunction);
        assert_eq!(table(7).unwrap()[160], Op::LoadMethod);
        assert_eq!(table(10).unwrap()[161], Op::CallMethod);
        assert_eq!(table(11).unwrap()[171], Op::Call);
        assert_eq!(table(11).unwrap()[166], Op::Nop); // PRECALL
        assert_eq!(table(12).unwrap()[121], Op::ReturnConst);
        assert_eq!(table(13).unwrap()[53], Op::Call);
        assert_eq!(table(13).unwrap()[57], Op::CallKw);
        assert_eq!(table(14).unwrap()[52], Op::Call);
        assert_eq!(table(14).unwrap()[94], Op::LoadSmallInt);
        assert_eq!(table(14).unwrap()[130], Op::Invalid); // a specialisation
        assert_eq!(resume_opcode(11), Some(151));
        assert_eq!(resume_opcode(13), Some(149));
        assert_eq!(resume_opcode(14), Some(128));
        for m in MINORS {
            assert!(table(*m).is_some());
        }
        assert!(table(5).is_none());
    }
}
