//! Tar archives (and legacy tar `torch.save`): members streamed, paths and links checked.

use crate::formats::FormatId;
use crate::report::Member;
use crate::scan::{PickleMode, Walk, join};
use crate::source::{Cursor, ReadAt};

impl Walk<'_> {
    pub(crate) fn tar(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let limits = self.limits().clone();
        let mut archive = tar::Archive::new(Cursor::new(src));
        let entries = match archive.entries_with_seek() {
            Ok(e) => e,
            Err(e) => {
                self.malformed(format!("tar: {e}"), member, None, true);
                return FormatId::Tar;
            }
        };
        let mut format = FormatId::Tar;
        let mut count = 0usize;
        for entry in entries {
            count += 1;
            if count > limits.max_members {
                self.malformed(
                    format!("tar has more than max_members ({})", limits.max_members),
                    member,
                    None,
                    false,
                );
                break;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.malformed(format!("tar: {e}"), member, None, true);
                    break;
                }
            };
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let etype = entry.header().entry_type();
            if etype.is_symlink() || etype.is_hard_link() {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kind = if etype.is_symlink() {
                    "symbolic"
                } else {
                    "hard"
                };
                self.archive_member(&name, Some((kind, target)), member);
                continue;
            }
            self.archive_member(&name, None, member);
            if !etype.is_file() {
                continue;
            }
            let size = entry.size();
            let sub = join(member, &name);
            let legacy_member = matches!(
                name.as_str(),
                "pickle" | "storages" | "tensors" | "sys_info"
            );
            if name == "pickle" {
                format = FormatId::PytorchTar;
            }
            let take = size.min(limits.max_member_bytes);
            // Streamed: large members are spilled to disk (member::collect), not held.
            let collected = match crate::member::collect(&mut entry, take) {
                Ok(c) => c,
                Err(e) => {
                    self.malformed(format!("tar member: {e}"), Some(&sub), None, true);
                    continue;
                }
            };
            if let Some(e) = &collected.error {
                self.malformed(format!("tar member: {e}"), Some(&sub), None, true);
                continue;
            }
            let data = collected.data.src();
            if size > take {
                self.malformed(
                    format!(
                        "member larger than max_member_bytes ({})",
                        limits.max_member_bytes
                    ),
                    Some(&sub),
                    None,
                    false,
                );
            }
            let fmt = if legacy_member {
                self.signatures(data, Some(&sub));
                self.pickle(data, Some(&sub), PickleMode::Raw, depth + 1)
            } else {
                self.walk(data, Some(&sub), &name, depth + 1)
            };
            if let Some(f) = fmt {
                self.members.push(Member {
                    path: sub,
                    format: f.as_str().into(),
                    size,
                });
            }
        }
        format
    }
}
