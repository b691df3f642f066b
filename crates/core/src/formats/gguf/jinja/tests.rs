//! Tests of the template analysis: escapes found (classic, obfuscated, computed at render
//! time), ordinary templates clean, bounds and parse failures.
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

use super::*;
use crate::report::Severity;
use crate::rules::escape_severity;

/// The worst severity the rules give to what the analysis found.
fn worst_of(r: &TemplateReport) -> Option<Severity> {
    r.escapes.iter().map(|e| escape_severity(e.kind)).max()
}

fn worst(src: &str) -> Option<Severity> {
    let r = analyze(src, &Limits::default());
    assert!(r.unparsed.is_none(), "{src}: {:?}", r.unparsed);
    worst_of(&r)
}

#[test]
fn classic_escapes_are_critical() {
    for t in [
        "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}{{ x()._module.__builtins__['__import__']('os').popen('echo modelguard-test').read() }}{% endif %}{% endfor %}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ joiner.__init__.__globals__['os'].system('id') }}",
        "{{ namespace.__init__.__globals__.__builtins__.eval('1') }}",
        "{{ lipsum.__globals__['os'].popen('id') }}",
        "{{ ''|attr('_'*2~'class'~'_'*2)|attr('_'*2~'base'~'_'*2)|attr('_'*2~'subclasses'~'_'*2) }}",
        "{% set a = '__glo' %}{% set b = 'bals__' %}{{ cycler.__init__|attr(a ~ b) }}",
        "{{ self|attr(['__', 'init', '__']|join)|attr('__slabolg__'|reverse) }}",
        "{{ x|attr('%sglobals%s'|format('__','__')) }}",
        "{{ x|attr('__GLOBALS__'|lower) }}",
        "{{ x[('__glob' + 'als__')] }}",
        "{{ x|attr('__globals__XX'[:-2]) }}",
        "{{ x|attr('__slabolg__'[::-1]) }}",
        "{{ x['__glo' 'bals__'] }}",
        "{{ x|attr('%c%cglobals%c%c'|format(95, 95, 95, 95)) }}",
        "{{ x|attr('__globalz__'|replace('z', 's')) }}",
        "{{ '{0.__globals__}'.format(cycler.__init__) }}",
        "{% set n = 'safe' %}{% if false %}{% set n = '__globals__' %}{% endif %}{{ f|attr(n) }}",
        "{{ x|map(attribute='__init__.__globals__')|list }}",
        "{{ x|map('attr', '__globals__')|list }}",
        "{{ f.func_globals }}",
        "{{ g.gi_frame.f_back.f_globals }}",
    ] {
        assert_eq!(worst(t), Some(Severity::Critical), "{t}");
    }
}

#[test]
fn partial_chains_are_high() {
    for t in [
        "{{ ''.__class__ }}",
        "{{ ''|attr(name) }}",
        "{{ x.__class__.__mro__ }}",
        "{% include 'other.j2' %}",
        "{% import 'macros.j2' as m %}",
        "{{ x.popen('ls') }}",
        "{% set n = '__cl' ~ 'ass__' %}{{ n }}",
    ] {
        assert_eq!(worst(t), Some(Severity::High), "{t}");
    }
}

#[test]
fn names_computed_at_render_time_are_evaluated() {
    let mut bad = Vec::new();
    for t in [
        // `{% set %}…{% endset %}` block.
        "{% set g %}__glo{{ 'bals' }}__{% endset %}{{ lipsum[g]['os'].popen('echo modelguard-test').read() }}",
        // A macro's return value.
        "{% macro m(a) %}__{{ a }}__{% endmacro %}{{ lipsum[m('globals')].os.popen('id') }}",
        // A `{% filter %}` block.
        "{% set g %}{% filter lower %}__GLOBALS__{% endfilter %}{% endset %}{{ lipsum|attr(g) }}",
        // Characters sliced out of `(lipsum|string)`.
        "{% set u = (lipsum|string)[18] %}{{ lipsum[u*2 ~ 'globals' ~ u*2].os }}",
        "{% set s = lipsum|string %}{{ cycler.__init__[s[18:19] * 2 ~ 'glo' ~ 'bals' ~ s[24:25]*2] }}",
        // `|tojson` and `|pprint`.
        "{{ lipsum[('__globals__'|tojson)[1:-1]] }}",
        "{{ lipsum[(['__globals__']|pprint)[2:-2]] }}",
        // `groupby` with a computed key.
        "{% set k %}__globals__{% endset %}{% for g in [lipsum]|groupby(k) %}{{ g.grouper.os.popen('id') }}{% endfor %}",
        // `|join` of a list, `|list`, `|first`.
        "{{ lipsum[['__glo', 'bals__']|join] }}",
        "{{ lipsum[('x__globals__'|list)[1:]|join] }}",
        // `~` inside a loop, through a namespace.
        "{% set ns = namespace(n='') %}{% for p in ['__', 'glo', 'bals', '__'] %}{% set ns.n = ns.n ~ p %}{% endfor %}{{ lipsum[ns.n].os.popen('id') }}",
        // A dict built at render time.
        "{% set d = dict(a='__glo', b='bals__') %}{{ lipsum[d.a ~ d['b']] }}",
        "{{ lipsum[{'k': '__globals__'}|tojson|replace('{\"k\": \"', '')|replace('\"}', '')] }}",
        // A macro through `caller`.
        "{% macro w() %}{{ lipsum[caller()] }}{% endmacro %}{% call w() %}__globals__{% endcall %}",
        "{{ joiner.__init__[range(2)|map('string')|join|replace('0', '__glo')|replace('1', 'bals__')] }}",
        // String escapes as Jinja2 (Python's unicode-escape) decodes them.
        "{{ lipsum['\\N{LOW LINE}\\N{LOW LINE}globals\\x5f\\137'] }}",
        "{{ lipsum['\\u005f_glo' \"bals\\U0000005f_\"] }}",
        // Constant dicts (minijinja folds literals).
        "{% for k, v in {'__globals__': 1}|items %}{{ lipsum[k] }}{% endfor %}",
        "{{ lipsum[{'a': '__globals__'}.a] }}",
        "{{ lipsum[({'__globals__': 1}|dictsort|first)[0]] }}",
        "{{ lipsum['..__globals__..'.strip('.')] }}",
        // Only with trim_blocks/lstrip_blocks (Transformers' environment).
        "{% set g %}\n    {% if true %}__globals__{% endif %}\n{% endset %}{{ lipsum[g] }}",
        // `{% break %}` leaves the namespace as one iteration left it.
        "{% set ns = namespace(n='') %}{% for p in ['__glo', 'bals__', 'x'] %}{% set ns.n = ns.n ~ p %}{% if p == 'bals__' %}{% break %}{% endif %}{% endfor %}{{ lipsum[ns.n] }}",
        "{% set ns = namespace(n='') %}{% for p in ['__glo', 'bals__', 'tail'] %}{% if p == 'tail' %}{% continue %}{% endif %}{% set ns.n = ns.n ~ p %}{% endfor %}{{ lipsum[ns.n] }}",
        // `str.format`, `varargs`, `kwargs`.
        "{{ lipsum['{}{}'.format('__glo', 'bals__')] }}",
        "{% macro m() %}{{ varargs|join }}{% endmacro %}{{ lipsum[m('__glo', 'bals__')] }}",
        "{% macro m() %}{{ kwargs.a }}{% endmacro %}{{ lipsum[m(a='__globals__')] }}",
    ] {
        bad.extend((worst(t) != Some(Severity::Critical)).then(|| format!("{t}: {:?}", worst(t))));
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn uncomputable_names_on_sensitive_objects_are_high() {
    let mut bad = Vec::new();
    for t in [
        "{{ lipsum[messages[0]['content']] }}",
        "{% set ns = namespace(n='') %}{% for m in messages %}{% set ns.n = ns.n ~ m.content %}{% endfor %}{{ lipsum[ns.n] }}",
        "{% set g %}{{ messages|last }}{% endset %}{{ cycler[g] }}",
        "{% macro m() %}{{ x }}{% endmacro %}{{ m[y] }}",
        "{% for x in messages %}{{ loop[x.content] }}{% endfor %}",
        "{{ self[name] }}",
        "{% set l = [lipsum, 1] %}{{ l[0][key] }}",
        "{{ [joiner]|map(attribute=k)|list }}",
        "{% for g in [namespace]|groupby(k) %}{{ g }}{% endfor %}",
        "{{ raise_exception[k] }}",
        "{{ messages[a][b] }}",
        "{{ messages|map(f, '__class__')|list }}",
        // Lists changed in place.
        "{% set x = [] %}{% set _ = x.append('__globals__') %}{{ lipsum[x|first] }}",
        "{% set x = ['a'] %}{% set f = x['app' ~ 'end'] %}{% set _ = f('__globals__') %}{{ lipsum[x|last] }}",
        "{{ lipsum['\\N{MODIFIER LETTER LOW MACRON}globals__'] }}",
    ] {
        bad.extend((worst(t) != Some(Severity::High)).then(|| format!("{t}: {:?}", worst(t))));
    }
    // The item names real templates compute (message fields, loop indexes) are clean.
    for t in [
        "{{ messages[loop_index - 1]['role'] }}",
        "{% for k in tool.parameters.properties %}{{ tool.parameters.properties[k].type }}{% endfor %}",
        "{% set ns = namespace(i=0) %}{% for m in messages %}{% set ns.i = ns.i + 1 %}{% endfor %}{{ messages[ns.i - 1].content }}",
    ] {
        bad.extend(worst(t).map(|w| format!("{t}: {w:?}")));
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn macro_bodies_are_their_own_evidence() {
    let r = analyze(
        "{% macro m(o) %}{{ o.__globals__ }}{% endmacro %}{{ m(lipsum) }}",
        &Limits::default(),
    );
    assert!(
        r.escapes.iter().all(|h| h.evidence == "o.__globals__"),
        "{:?}",
        r.escapes
    );
}

#[test]
fn evaluation_is_bounded() {
    let start = std::time::Instant::now();
    // Nested loops over known lists.
    let mut t = String::new();
    for i in 0..12 {
        t += &format!("{{% for a{i} in range(60) %}}");
    }
    t += "{{ lipsum[x] }}";
    t += &"{% endfor %}".repeat(12);
    let r = analyze(&t, &Limits::default());
    assert_eq!(worst_of(&r), Some(Severity::High));
    // Macros calling the previous one twice with different arguments.
    let mut t = String::from("{% macro m0(x) %}{{ lipsum[x] }}{% endmacro %}");
    for i in 1..30 {
        t += &format!(
            "{{% macro m{i}(x) %}}{{{{ m{}(x ~ 'a') }}}}{{{{ m{}(x ~ 'b') }}}}{{% endmacro %}}",
            i - 1,
            i - 1
        );
    }
    t += "{{ m29('') }}";
    let r = analyze(&t, &Limits::default());
    assert!(!r.escapes.is_empty());
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn ordinary_templates_are_clean() {
    for t in [
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "{%- set ns = namespace(found=false) -%}{%- for m in messages -%}{%- if m.role == 'system' -%}{%- set ns.found = true -%}{%- endif -%}{%- endfor -%}{{ messages|map(attribute='content')|join('\\n') }}",
        "{% generation %}{{ message.content | trim }}{% endgeneration %}",
        "{{ raise_exception('Conversation roles must alternate') }}{{ tools|tojson(indent=4) }}{{ x.items()|list }}",
    ] {
        assert_eq!(worst(t), None, "{t}");
    }
}

#[test]
fn unparsable_escapes_are_still_seen() {
    // Jinja2 accepts a call after a filter; minijinja does not.
    let r = analyze(
        "{{ ''|attr('_'*2~'class'~'_'*2)|attr('_'*2~'base'~'_'*2)|attr('_'*2~'subclasses'~'_'*2)() }}",
        &Limits::default(),
    );
    assert!(r.unparsed.is_some());
    assert_eq!(worst_of(&r), Some(Severity::Critical));
    let r = analyze("{{ x|attr('__glo' 'bals__')() }}", &Limits::default());
    assert_eq!(worst_of(&r), Some(Severity::Critical));
    // A variable named like a command function is not a call of it.
    let r = analyze("{% if system %}{{ x|trim() }}{% endif", &Limits::default());
    assert!(
        r.unparsed.is_some() && r.escapes.is_empty(),
        "{:?}",
        r.escapes
    );
    let r = analyze("{{ x|attr(a)() }}", &Limits::default());
    assert_eq!(worst_of(&r), Some(Severity::High));
}

#[test]
fn parse_failures_and_limits_are_reported() {
    let r = analyze("{% for %}", &Limits::default());
    assert!(r.unparsed.is_some());
    let l = Limits {
        max_template_bytes: 4,
        ..Limits::default()
    };
    assert!(analyze("{{ hello }}", &l).unparsed.is_some());
    // A long operator chain is refused before the AST is built.
    let long = format!("{{{{ {} }}}}", vec!["'a'"; 2000].join(" ~ "));
    assert!(analyze(&long, &Limits::default()).unparsed.is_some());
    let ok = format!("{{{{ {} }}}}", vec!["'a'"; 400].join(" ~ "));
    assert!(analyze(&ok, &Limits::default()).unparsed.is_none());
    // The deepest trees the token limit lets through fit a 2 MiB thread stack.
    let deep = format!("{{{{ {} }}}}", vec!["'a'"; 499].join(" ~ "));
    let chain = format!("{{{{ x{} }}}}", ".a".repeat(498));
    let filters = format!("{{{{ x{} }}}}", "|f".repeat(498));
    for t in [deep, chain, filters] {
        let r = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || analyze(&t, &Limits::default()).unparsed)
            .unwrap()
            .join()
            .unwrap();
        assert!(r.is_none(), "{r:?}");
    }
}

#[test]
fn generation_tags_are_stripped_in_place() {
    let s = "a{%- generation -%}b{% endgeneration %}c{% if x %}";
    let t = strip_extension_tags(s);
    assert_eq!(t.len(), s.len());
    assert!(t.starts_with("a ") && t.contains('b') && t.ends_with("c{% if x %}"));
}

#[test]
fn escapes_carry_their_position_and_path() {
    let r = analyze(
        "{{ a }}\n  {{ cycler.__init__.__globals__.os.popen('id') }}",
        &Limits::default(),
    );
    assert!(!r.escapes.is_empty());
    for e in &r.escapes {
        assert_eq!((e.line, e.column), (2, 6), "{e:?}");
        assert_eq!(e.evidence, "cycler.__init__.__globals__.os.popen('id')");
    }
    let popen = r
        .escapes
        .iter()
        .find(|e| e.what == "popen reached through __init__.__globals__.os")
        .unwrap();
    assert_eq!(popen.kind, EscapeKind::CommandThroughInternals);
    assert_eq!(popen.path, ["__init__", "__globals__", "os"]);
    // Facts as JSON: kinds by name.
    let json = serde_json::to_value(popen).unwrap();
    assert_eq!(json["kind"], "command-through-internals");
}
