//! Listing: a repository revision's files (Hugging Face tree pages, Gitea trees), a hub's
//! repositories page by page, revisions resolved to commits, and file URLs.
//!
//! Must not: read file contents (`source.rs` does).

use reqwest::{Url, header};

use crate::wire::{
    GiteaSearch, GiteaTree, ListedRepo, RepoPage, TreeFile, WithSha, is_commit, next_link,
    parse_hf_repos, parse_hf_tree,
};
use crate::{Error, Fetcher, HubKind};

impl Fetcher {
    /// List every file of a repository revision (all pages).
    pub async fn list_tree(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
    ) -> Result<Vec<TreeFile>, Error> {
        match hub {
            HubKind::Hf => self.list_hf(repo, rev).await,
            HubKind::Gitea => self.list_gitea(repo, rev).await,
        }
    }

    async fn list_hf(&self, repo: &str, rev: &str) -> Result<Vec<TreeFile>, Error> {
        let mut url = self.hf_api_url(repo, &["tree", rev])?;
        url.set_query(Some("recursive=true"));
        let mut next = Some(url.to_string());
        let mut files = Vec::new();
        let mut pages = 0;
        while let Some(u) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(Error::Fetch("too many tree pages".into()));
            }
            // Follow pagination only on the hub itself: a `Link` elsewhere would leak the token.
            if !self.is_hub(&u) {
                return Err(Error::Fetch(format!("tree pagination left the hub: {u}")));
            }
            let resp = self.send(&self.client, &u, None, true).await?;
            next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = self.body(resp, 64 << 20).await?;
            files.extend(parse_hf_tree(&body)?);
            if files.len() > self.cfg.max_files_per_revision {
                return Err(Error::Fetch(format!(
                    "more than {} files in the revision",
                    self.cfg.max_files_per_revision
                )));
            }
        }
        Ok(files)
    }

    async fn list_gitea(&self, repo: &str, rev: &str) -> Result<Vec<TreeFile>, Error> {
        let repo = gitea_name(repo);
        let base = self
            .cfg
            .gitea_endpoint
            .as_deref()
            .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
            .trim_end_matches('/');
        let mut files = Vec::new();
        for page in 1..=1000u32 {
            let url = format!(
                "{base}/api/v1/repos/{repo}/git/trees/{rev}?recursive=true&per_page=1000&page={page}"
            );
            let resp = self.send(&self.client, &url, None, false).await?;
            let body = self.body(resp, 64 << 20).await?;
            let t: GiteaTree = serde_json::from_slice(&body)
                .map_err(|e| Error::Fetch(format!("gitea tree: {e}")))?;
            let empty = t.tree.is_empty();
            files.extend(
                t.tree
                    .into_iter()
                    .filter(|e| e.kind == "blob")
                    .map(|e| TreeFile {
                        path: e.path,
                        size: e.size,
                        sha256: None,
                    }),
            );
            if !t.truncated || empty {
                return Ok(files);
            }
        }
        Err(Error::Fetch("too many tree pages".into()))
    }

    /// The first page of a hub's repository listing (a cursor for
    /// [`Fetcher::list_repos_page`]). `repo_type`: `model`, `dataset` or `space`.
    pub fn repos_first_page(
        &self,
        hub: HubKind,
        repo_type: &str,
        page_size: u32,
    ) -> Result<String, Error> {
        match hub {
            HubKind::Hf => {
                let kind = match repo_type {
                    "model" => "models",
                    "dataset" => "datasets",
                    "space" => "spaces",
                    other => return Err(Error::Config(format!("unknown repo type {other}"))),
                };
                let mut url =
                    Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .push("api")
                    .push(kind);
                url.query_pairs_mut()
                    .append_pair("limit", &page_size.to_string())
                    .append_pair("expand[]", "sha")
                    .append_pair("expand[]", "lastModified");
                Ok(url.to_string())
            }
            // Gitea pages by number: the cursor is `page:<n>`.
            HubKind::Gitea => Ok("page:1".into()),
        }
    }

    /// One page of a hub's repository listing: the repositories (with their head commit when
    /// the hub tells it) and the cursor of the next page (`None` at the end). Hugging Face
    /// pages through the `Link: <…>; rel="next"` header; Gitea through page numbers, with
    /// one branch request per repository for its head commit.
    pub async fn list_repos_page(
        &self,
        hub: HubKind,
        repo_type: &str,
        cursor: &str,
        page_size: u32,
    ) -> Result<RepoPage, Error> {
        match hub {
            HubKind::Hf => {
                // Follow only the hub's own links: a `Link` elsewhere would leak the token.
                if !self.is_hub(cursor) {
                    return Err(Error::Fetch(format!(
                        "listing cursor left the hub: {cursor}"
                    )));
                }
                let resp = self.send(&self.client, cursor, None, true).await?;
                let next = resp
                    .headers()
                    .get(header::LINK)
                    .and_then(|v| v.to_str().ok())
                    .and_then(next_link);
                let body = self.body(resp, 64 << 20).await?;
                let prefix = match repo_type {
                    "dataset" => "datasets/",
                    "space" => "spaces/",
                    _ => "",
                };
                Ok(RepoPage {
                    repos: parse_hf_repos(&body, prefix)?,
                    next,
                })
            }
            HubKind::Gitea => {
                let page: u32 = cursor
                    .strip_prefix("page:")
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| Error::Fetch(format!("bad gitea cursor {cursor}")))?;
                let base = self.gitea_base()?;
                let url = format!(
                    "{base}/api/v1/repos/search?limit={page_size}&page={page}&sort=id&order=asc"
                );
                let resp = self.send(&self.client, &url, None, false).await?;
                let body = self.body(resp, 64 << 20).await?;
                let found: GiteaSearch = serde_json::from_slice(&body)
                    .map_err(|e| Error::Fetch(format!("gitea repository search: {e}")))?;
                // Gitea caps `limit` (50 by default), so a short page is not the end: the
                // listing ends at the first empty page.
                let more = !found.data.is_empty();
                let mut repos = Vec::with_capacity(found.data.len());
                for r in found.data {
                    // An empty repository has no commit and nothing to scan.
                    if r.empty {
                        continue;
                    }
                    let branch = r.default_branch.clone().unwrap_or_else(|| "main".into());
                    let sha = match self
                        .resolve_revision(HubKind::Gitea, &r.full_name, &branch)
                        .await
                    {
                        Ok(sha) => Some(sha),
                        // This repository's branch cannot be resolved (deleted, private): its
                        // list job resolves it again and fails on its own, not the page.
                        Err(Error::Status { .. }) => None,
                        Err(e) => return Err(e),
                    };
                    repos.push(ListedRepo {
                        repo: format!("gitea/{}", r.full_name),
                        sha,
                        default_ref: branch,
                    });
                }
                Ok(RepoPage {
                    repos,
                    next: more.then(|| format!("page:{}", page + 1)),
                })
            }
        }
    }

    /// The commit a ref (branch, tag) of a repository points at now.
    pub async fn resolve_revision(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
    ) -> Result<String, Error> {
        let url = match hub {
            HubKind::Hf => self.hf_api_url(repo, &["revision", rev])?.to_string(),
            HubKind::Gitea => {
                let mut url =
                    Url::parse(self.gitea_base()?).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .extend(["api", "v1", "repos"])
                    .extend(gitea_name(repo).split('/'))
                    .extend(["git", "commits"])
                    .push(rev);
                url.to_string()
            }
        };
        let auth = hub == HubKind::Hf;
        let resp = self.send(&self.client, &url, None, auth).await?;
        let body = self.body(resp, 16 << 20).await?;
        let c: WithSha = serde_json::from_slice(&body)
            .map_err(|e| Error::Fetch(format!("revision answer: {e}")))?;
        if !is_commit(&c.sha) {
            return Err(Error::Fetch(format!(
                "revision answer: not a commit: {}",
                c.sha
            )));
        }
        Ok(c.sha.to_ascii_lowercase())
    }

    /// `{endpoint}/api/{models|datasets|spaces}/{owner}/{name}/{tail…}`, each part a path
    /// segment (escaped).
    fn hf_api_url(&self, repo: &str, tail: &[&str]) -> Result<Url, Error> {
        let (kind, name) = split_repo(repo);
        let mut url = Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
            .pop_if_empty()
            .push("api")
            .push(kind)
            .extend(name.split('/'))
            .extend(tail);
        Ok(url)
    }

    fn gitea_base(&self) -> Result<&str, Error> {
        Ok(self
            .cfg
            .gitea_endpoint
            .as_deref()
            .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
            .trim_end_matches('/'))
    }

    /// The download URL of a file.
    pub fn file_url(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
        path: &str,
    ) -> Result<String, Error> {
        match hub {
            HubKind::Hf => {
                let mut url =
                    Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
                let (kind, name) = split_repo(repo);
                {
                    let mut segs = url
                        .path_segments_mut()
                        .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?;
                    segs.pop_if_empty();
                    if kind != "models" {
                        segs.push(kind);
                    }
                    segs.extend(name.split('/'))
                        .push("resolve")
                        .push(rev)
                        .extend(path.split('/'));
                }
                Ok(url.to_string())
            }
            HubKind::Gitea => {
                let base = self
                    .cfg
                    .gitea_endpoint
                    .as_deref()
                    .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
                    .trim_end_matches('/');
                let mut url = Url::parse(base).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .extend(["api", "v1", "repos"])
                    .extend(gitea_name(repo).split('/'))
                    .push("media")
                    .extend(path.split('/'));
                url.query_pairs_mut().append_pair("ref", rev);
                Ok(url.to_string())
            }
        }
    }
}

/// Gitea repositories are stored as `gitea/owner/name`; the API wants `owner/name`.
pub(crate) fn gitea_name(repo: &str) -> &str {
    repo.strip_prefix("gitea/").unwrap_or(repo)
}

/// `models/owner/name` style split: (`models`|`datasets`|`spaces`, rest).
pub(crate) fn split_repo(repo: &str) -> (&'static str, &str) {
    if let Some(r) = repo.strip_prefix("datasets/") {
        ("datasets", r)
    } else if let Some(r) = repo.strip_prefix("spaces/") {
        ("spaces", r)
    } else {
        ("models", repo)
    }
}
