//! `terraform-provider-sigil docs [--check] [ROOT]`: the registry docs,
//! generated from the provider's schema.
//!
//! Each page of `docs/resources/`, `docs/data-sources/` and
//! `docs/ephemeral-resources/` (and `docs/index.md`)
//! is rendered from what the provider serves to Terraform (attribute names,
//! types, required/optional/computed, sensitive, descriptions, which say what
//! forces a new object) and from the hand-written parts that cannot come from
//! a schema, in the tfplugindocs layout:
//!
//! - `examples/resources/sigil_<name>/resource.tf` and `import.sh`,
//!   `examples/data-sources/sigil_<name>/data-source.tf`,
//!   `examples/ephemeral-resources/sigil_<name>/ephemeral-resource.tf`,
//!   `examples/provider/provider.tf`: the Example Usage and Import code;
//! - `provider/templates/{resources,data-sources,ephemeral-resources}/<name>.md.tmpl` and
//!   `provider/templates/index.md.tmpl`: prose around the placeholders
//!   `{{ example }}`, `{{ schema }}` and (resources) `{{ import }}`, each used
//!   once. Pages without a template get those sections alone.
//!
//! The front matter and the title of a resource or data source page come
//! from the schema too; `index.md` is its template's whole page. Write-only
//! attributes (flagged by [`crate::protocol`]) say so.
//! `--check` writes nothing and fails when a committed page differs (the unit
//! test `committed_docs_are_generated` does the same on every `cargo test`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Schema};
use tf_provider::{Diagnostics, Provider};

use crate::provider::SigilProvider;

/// The command that regenerates the docs, for messages.
pub const COMMAND: &str = "cargo run -p terraform-provider-sigil -- docs";

const USAGE: &str = "\
usage: terraform-provider-sigil docs [--check] [ROOT]

Writes docs/index.md, docs/resources/*.md, docs/data-sources/*.md and
docs/ephemeral-resources/*.md under
ROOT (the repository root; default: the current directory) from the
provider's schema, examples/ and provider/templates/.

  --check   write nothing; fail when a committed page differs";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resource,
    DataSource,
    Ephemeral,
}

const KINDS: [Kind; 3] = [Kind::Resource, Kind::DataSource, Kind::Ephemeral];

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::Ephemeral => "ephemeral-resources",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::Ephemeral => "Ephemeral Resource",
        }
    }
}

/// One page: where it goes, its schema, and its hand-written parts.
struct Page {
    /// Relative to the root.
    path: PathBuf,
    /// `None` for the index, whose template is the whole page.
    header: Option<(Kind, String)>,
    schema: Schema,
    example: PathBuf,
    import: Option<PathBuf>,
    template: PathBuf,
}

fn pages() -> anyhow::Result<Vec<Page>> {
    let provider = SigilProvider::default();
    let mut diags = Diagnostics::default();
    let no_schema = |name: &str| anyhow!("the provider serves no schema for {name}");
    let mut pages = vec![Page {
        path: "docs/index.md".into(),
        header: None,
        schema: provider
            .schema(&mut diags)
            .ok_or_else(|| no_schema("the provider"))?,
        example: "examples/provider/provider.tf".into(),
        import: None,
        template: "provider/templates/index.md.tmpl".into(),
    }];
    let resources = provider
        .get_resources(&mut diags)
        .ok_or_else(|| no_schema("resources"))?;
    let data_sources = provider
        .get_data_sources(&mut diags)
        .ok_or_else(|| no_schema("data sources"))?;
    let mut items: Vec<(Kind, String, Schema)> = Vec::new();
    for (name, r) in &resources {
        let schema = r.schema(&mut diags).ok_or_else(|| no_schema(name))?;
        items.push((Kind::Resource, name.clone(), schema));
    }
    for (name, d) in &data_sources {
        let schema = d.schema(&mut diags).ok_or_else(|| no_schema(name))?;
        items.push((Kind::DataSource, name.clone(), schema));
    }
    for (type_name, schema) in crate::ephemeral::types() {
        let name = type_name.trim_start_matches("sigil_").to_string();
        items.push((Kind::Ephemeral, name, schema));
    }
    items.sort_by(|a, b| (a.0.dir(), &a.1).cmp(&(b.0.dir(), &b.1)));
    for (kind, name, schema) in items {
        let examples = PathBuf::from("examples")
            .join(kind.dir())
            .join(format!("sigil_{name}"));
        pages.push(Page {
            path: PathBuf::from("docs")
                .join(kind.dir())
                .join(format!("{name}.md")),
            header: Some((kind, format!("sigil_{name}"))),
            schema,
            example: examples.join(match kind {
                Kind::Resource => "resource.tf",
                Kind::DataSource => "data-source.tf",
                Kind::Ephemeral => "ephemeral-resource.tf",
            }),
            import: (kind == Kind::Resource).then(|| examples.join("import.sh")),
            template: PathBuf::from("provider/templates")
                .join(kind.dir())
                .join(format!("{name}.md.tmpl")),
        });
    }
    Ok(pages)
}

/// `String` (String), `Set of String`, `List of Object`.
fn type_name(t: &AttributeType) -> String {
    match t {
        AttributeType::String => "String".into(),
        AttributeType::Number => "Number".into(),
        AttributeType::Bool => "Bool".into(),
        AttributeType::List(t) => format!("List of {}", type_name(t)),
        AttributeType::Set(t) => format!("Set of {}", type_name(t)),
        AttributeType::Map(t) => format!("Map of {}", type_name(t)),
        AttributeType::Object(_) | AttributeType::AttributeSingle(_) => "Object".into(),
        AttributeType::AttributeList(_) => "List of Object".into(),
        AttributeType::AttributeSet(_) => "Set of Object".into(),
        AttributeType::AttributeMap(_) => "Map of Object".into(),
        AttributeType::Tuple(_) => "Tuple".into(),
        AttributeType::Any => "Dynamic".into(),
    }
}

/// The fields of an object (or list of objects) type, sorted.
fn object_fields(t: &AttributeType) -> Vec<(&String, &AttributeType)> {
    let mut fields: Vec<_> = match t {
        AttributeType::List(t) | AttributeType::Set(t) | AttributeType::Map(t) => {
            return object_fields(t)
        }
        AttributeType::Object(f) => f.iter().collect(),
        _ => Vec::new(),
    };
    fields.sort_by_key(|(name, _)| *name);
    fields
}

fn bullet(out: &mut String, name: &str, a: &Attribute, tags: &[&str], write_only: bool) {
    let mut tags: Vec<String> = std::iter::once(type_name(&a.attr_type))
        .chain(tags.iter().map(|t| t.to_string()))
        .collect();
    if a.sensitive {
        tags.push("Sensitive".into());
    }
    if write_only {
        tags.push("Write-only".into());
    }
    let _ = writeln!(
        out,
        "- `{name}` ({}) {}",
        tags.join(", "),
        a.description.content.trim()
    );
    for (field, t) in object_fields(&a.attr_type) {
        let _ = writeln!(out, "  - `{field}` ({})", type_name(t));
    }
}

/// Argument Reference (required, then optional) and Attribute Reference (computed).
fn render_schema(schema: &Schema, with_attributes: bool, write_only: &[&str]) -> String {
    let wo = |name: &str| write_only.contains(&name);
    let mut attrs: Vec<(&String, &Attribute)> = schema.block.attributes.iter().collect();
    attrs.sort_by_key(|(name, _)| *name);
    let of = |c: &[AttributeConstraint]| -> Vec<(&String, &Attribute)> {
        attrs
            .iter()
            .filter(|(_, a)| c.contains(&a.constraint))
            .copied()
            .collect()
    };
    let mut out = String::from("## Argument Reference\n\n");
    for (name, a) in of(&[AttributeConstraint::Required]) {
        bullet(&mut out, name, a, &["Required"], wo(name));
    }
    let optional = [
        AttributeConstraint::Optional,
        AttributeConstraint::OptionalComputed,
    ];
    for (name, a) in of(&optional) {
        bullet(&mut out, name, a, &["Optional"], wo(name));
    }
    if with_attributes {
        out.push_str(
            "\n## Attribute Reference\n\nIn addition to the arguments above, these attributes \
             are exported:\n\n",
        );
        for (name, a) in of(&[AttributeConstraint::Computed]) {
            bullet(&mut out, name, a, &[], wo(name));
        }
    }
    out.trim_end().to_string()
}

fn read(root: &Path, path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(root.join(path))
        .with_context(|| format!("cannot read {}", path.display()))
}

fn code(lang: &str, text: &str) -> String {
    format!("```{lang}\n{}\n```", text.trim_end())
}

fn render(root: &Path, page: &Page) -> anyhow::Result<String> {
    let kind = page.header.as_ref().map(|(k, _)| *k);
    let mut sections = vec![
        (
            "example",
            format!(
                "## Example Usage\n\n{}",
                code("terraform", &read(root, &page.example)?)
            ),
        ),
        (
            "schema",
            render_schema(
                &page.schema,
                kind.is_some(),
                page.header
                    .as_ref()
                    .map_or(&[][..], |(_, name)| crate::protocol::write_only(name)),
            ),
        ),
    ];
    if let Some(import) = &page.import {
        let text = format!("## Import\n\n{}", code("shell", &read(root, import)?));
        sections.push(("import", text));
    }
    let template = if root.join(&page.template).exists() {
        read(root, &page.template)?
    } else if page.header.is_some() {
        let names: Vec<String> = sections
            .iter()
            .map(|(n, _)| format!("{{{{ {n} }}}}"))
            .collect();
        names.join("\n\n")
    } else {
        bail!("missing {}", page.template.display());
    };
    let mut body = template.clone();
    for (name, text) in &sections {
        let placeholder = format!("{{{{ {name} }}}}");
        if template.matches(&placeholder).count() != 1 {
            bail!(
                "{} must use {placeholder} exactly once",
                page.template.display()
            );
        }
        body = body.replace(&placeholder, text);
    }
    if let Some(at) = body.find("{{") {
        let rest: String = body[at..].chars().take(40).collect();
        bail!(
            "{}: unknown placeholder at {rest:?}",
            page.template.display()
        );
    }
    let mut out = String::new();
    if let Some((kind, name)) = &page.header {
        let description = page.schema.block.description.content.trim();
        let _ = write!(
            out,
            "---\npage_title: \"{name} {} - sigil\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# {name} ({})\n\n{description}\n\n",
            kind.title(),
            description.replace('\n', "\n  "),
            kind.title(),
        );
    }
    out.push_str(body.trim());
    out.push('\n');
    Ok(out)
}

/// Every generated page, by path relative to `root`.
pub fn render_all(root: &Path) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    pages()?
        .iter()
        .map(|p| Ok((p.path.clone(), render(root, p)?)))
        .collect()
}

/// The pages in the generated directories that no resource or data source generates.
fn strays(root: &Path, generated: &BTreeMap<PathBuf, String>) -> Vec<PathBuf> {
    let mut strays = Vec::new();
    for kind in KINDS {
        let dir = PathBuf::from("docs").join(kind.dir());
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = dir.join(e.file_name());
            if path.extension().is_some_and(|x| x == "md") && !generated.contains_key(&path) {
                strays.push(path);
            }
        }
    }
    strays.sort();
    strays
}

/// The pages under `root` that differ from what the schema generates, and
/// the stray pages in the generated directories.
pub fn stale(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let generated = render_all(root)?;
    let mut stale: Vec<PathBuf> = generated
        .iter()
        .filter(|(path, text)| {
            std::fs::read_to_string(root.join(path)).ok().as_ref() != Some(*text)
        })
        .map(|(path, _)| path.clone())
        .collect();
    stale.extend(strays(root, &generated));
    Ok(stale)
}

/// `terraform-provider-sigil docs [--check] [ROOT]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut check = false;
    let mut root: Option<PathBuf> = None;
    for a in args {
        match a.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n\n{USAGE}"),
            dir if root.is_none() => root = Some(dir.into()),
            extra => bail!("unexpected argument {extra}\n\n{USAGE}"),
        }
    }
    let root = root.unwrap_or_else(|| PathBuf::from("."));
    if !root.join("provider/templates").is_dir() || !root.join("examples").is_dir() {
        bail!(
            "{} is not the repository root (no provider/templates or examples): run from the \
             root or give it as ROOT",
            root.display()
        );
    }
    if check {
        let stale = stale(&root)?;
        if !stale.is_empty() {
            let list: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
            bail!("docs are stale: run `{COMMAND}` ({})", list.join(", "));
        }
        println!("docs are up to date");
        return Ok(());
    }
    let generated = render_all(&root)?;
    for stray in strays(&root, &generated) {
        std::fs::remove_file(root.join(&stray))
            .with_context(|| format!("cannot remove {}", stray.display()))?;
        println!("removed {}", stray.display());
    }
    for (path, text) in generated {
        let full = root.join(&path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn committed_docs_are_generated() {
        let stale = stale(&root()).unwrap();
        assert!(
            stale.is_empty(),
            "docs are stale: run `{COMMAND}` (from the repository root) and commit the result; \
             differing: {stale:?}"
        );
    }

    #[test]
    fn every_attribute_is_described() {
        for page in pages().unwrap() {
            assert!(
                !page.schema.block.description.content.is_empty(),
                "{:?}",
                page.path
            );
            for (name, a) in &page.schema.block.attributes {
                assert!(
                    a.description.content.trim().ends_with('.'),
                    "{}: `{name}` needs a description (a sentence)",
                    page.path.display()
                );
            }
        }
    }

    #[test]
    fn the_schema_renders_as_registry_sections() {
        let pages = pages().unwrap();
        let token = pages
            .iter()
            .find(|p| p.path.ends_with("resources/token.md"))
            .unwrap();
        let text = render_schema(&token.schema, true, &[]);
        assert!(text.starts_with("## Argument Reference\n\n- `bot_id` (String, Required) "));
        assert!(text.contains("Forces a new token."));
        assert!(text.contains("\n- `token` (String, Sensitive) "), "{text}");
        let args = &text[..text.find("## Attribute Reference").unwrap()];
        assert!(
            !args.contains("`created_at`"),
            "computed attributes are not arguments"
        );
    }

    #[test]
    fn templates_use_each_section_once() {
        let dir = std::env::temp_dir().join(format!("sigil-docs-{}", std::process::id()));
        let page = Page {
            path: "docs/resources/x.md".into(),
            header: Some((Kind::Resource, "sigil_x".into())),
            schema: SigilProvider::default()
                .schema(&mut Diagnostics::default())
                .unwrap(),
            example: "x.tf".into(),
            import: Some("x.sh".into()),
            template: "x.md.tmpl".into(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x.tf"), "resource \"sigil_x\" \"a\" {}\n").unwrap();
        std::fs::write(dir.join("x.sh"), "terraform import sigil_x.a id\n").unwrap();
        // No template: the sections alone, after the generated header.
        let text = render(&dir, &page).unwrap();
        assert!(
            text.starts_with("---\npage_title: \"sigil_x Resource - sigil\""),
            "{text}"
        );
        assert!(
            text.contains("## Example Usage\n\n```terraform\nresource"),
            "{text}"
        );
        assert!(
            text.ends_with("```shell\nterraform import sigil_x.a id\n```\n"),
            "{text}"
        );
        std::fs::write(dir.join("x.md.tmpl"), "{{ example }}\n{{ schema }}\n").unwrap();
        let e = render(&dir, &page).unwrap_err().to_string();
        assert!(e.contains("{{ import }} exactly once"), "{e}");
        std::fs::write(
            dir.join("x.md.tmpl"),
            "{{ example }} {{ schema }} {{ import }} {{ x }}",
        )
        .unwrap();
        assert!(render(&dir, &page)
            .unwrap_err()
            .to_string()
            .contains("unknown placeholder"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
