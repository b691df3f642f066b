//! Tuples, lists, dicts, sets and frozensets, and the opcodes that add to a container: on one
//! the pickle built they fill it, on anything else they are calls (`append`, `__setitem__`,
//! `add`) of an attacker-chosen object.

use super::{Ctx, R, Step, Vm, stack_err};
use crate::opcodes as op;
use crate::{CallKind, ErrorKind, Location, Value, ValueId};

impl<'a> Vm<'a> {
    /// The opcodes of this module (see [`Vm::exec_other`]).
    #[inline(always)]
    pub(super) fn exec_container(&mut self, code: u8, c: &mut Ctx<'a>, at: Location) -> R<Step> {
        let f = &mut c.frame;
        let pushed = match code {
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(code - op::TUPLE1) + 1;
                let mut items = vec![0; n];
                for slot in items.iter_mut().rev() {
                    *slot = Self::pop(f)?;
                }
                self.new_value(Value::Tuple(items))?
            }
            op::TUPLE => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::Tuple(items))?
            }
            op::LIST => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::List(items))?
            }
            op::DICT => {
                let items = Self::pop_mark(f)?;
                if !items.len().is_multiple_of(2) {
                    return Err(stack_err("odd number of items for DICT"));
                }
                let pairs = items.chunks_exact(2).filter_map(|p| match p {
                    [k, v] => Some((*k, *v)),
                    _ => None,
                });
                let d = Value::Dict(pairs.collect());
                self.new_value(d)?
            }
            op::EMPTY_SET => self.new_value(Value::Set(Vec::new()))?,
            op::FROZENSET => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::FrozenSet(items))?
            }
            op::APPEND => {
                let v = Self::pop(f)?;
                let target = Self::top(f)?;
                // A known list takes the item without a one-item vector in between.
                match self.out.values.get_mut(target as usize) {
                    Some(Value::List(l)) => l.push(v),
                    _ => {
                        self.call(target, vec![v], Vec::new(), CallKind::Append, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            op::SETITEM => {
                let v = Self::pop(f)?;
                let k = Self::pop(f)?;
                let target = Self::top(f)?;
                // A known dict takes the pair without a two-item vector in between.
                match self.out.values.get_mut(target as usize) {
                    Some(Value::Dict(d)) => d.push((k, v)),
                    _ => {
                        self.call(target, vec![k, v], Vec::new(), CallKind::SetItem, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            op::SETITEMS => {
                let m = Self::pop_mark_height(f)?;
                let target = Self::below_mark(f, m)?;
                // A known dict takes the pairs straight from the stack, without a temporary
                // vector; anything else gets them as call arguments.
                if let Some(Value::Dict(d)) = self.out.values.get_mut(target as usize) {
                    let items = f.stack.get(m..).unwrap_or_default();
                    let odd = !items.len().is_multiple_of(2);
                    d.reserve(items.len() / 2);
                    d.extend(items.chunks_exact(2).filter_map(|p| match p {
                        [k, v] => Some((*k, *v)),
                        _ => None,
                    }));
                    f.stack.truncate(m);
                    if odd {
                        // The pure-Python unpickler sets the complete pairs before failing.
                        return Err(stack_err("odd number of items for SETITEMS"));
                    }
                    return Ok(Step::Continue);
                }
                let items = f.stack.split_off(m);
                self.setitems(target, items, at)?;
                return Ok(Step::Continue);
            }
            op::ADDITEMS => {
                let items = Self::pop_mark(f)?;
                let target = Self::top(f)?;
                if items.is_empty() {
                    return Ok(Step::Continue);
                }
                match self.out.values.get_mut(target as usize) {
                    Some(Value::Set(s)) => s.extend(items),
                    _ => {
                        self.call(target, items, Vec::new(), CallKind::AddItems, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        };
        self.push(f, pushed)?;
        Ok(Step::Continue)
    }

    /// SETITEMS on anything but a known dict (see `op::SETITEMS` in [`Vm::exec_other`]):
    /// `target.__setitem__` calls, none without items.
    fn setitems(&mut self, target: ValueId, items: Vec<ValueId>, at: Location) -> R<()> {
        let odd = !items.len().is_multiple_of(2);
        if !items.is_empty() {
            self.call(target, items, Vec::new(), CallKind::SetItem, at)?;
        }
        if odd {
            // The pure-Python unpickler sets the complete pairs before failing.
            return Err(stack_err("odd number of items for SETITEMS"));
        }
        Ok(())
    }
}
