//! Launch files: a fleet with replicas, an include and dependencies becomes an ordered plan;
//! every kind of mistake is an error located to its file, line and column.

use std::path::{Path, PathBuf};

use mesh_launch::{load, LaunchError, RestartPolicy};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("mesh-launch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn error(path: &Path) -> LaunchError {
    load(path, &[]).expect_err("the launch file must be refused")
}

#[test]
fn a_fleet_becomes_an_ordered_plan() {
    let d = Dir::new("fleet");
    d.file(
        "common.launch.toml",
        r#"
[[node]]
name = "monitor"
executable = "/bin/true"
required = false
"#,
    );
    let main = d.file(
        "fleet.launch.toml",
        r#"
include = ["common.launch.toml"]

[[node]]
name = "robot_{i}"
executable = "true"
count = 3
namespace = "/fleet"
args = ["--id", "{i}"]
params = { id = "robot_{i}", speed = 1.5, waypoints = ["a{i}", "b"] }
env = { ROBOT = "{i}" }
log = "logs/robot_{i}.log"
after = ["controller"]
restart = { policy = "on-failure", delay_ms = 200, max_restarts = 5 }

[[node]]
name = "controller"
executable = "/bin/true"
after = ["monitor"]
restart = "always"
"#,
    );
    let plan = load(&main, &[]).unwrap();
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["monitor", "controller", "robot_0", "robot_1", "robot_2"]
    );
    let r1 = &plan.nodes[3];
    assert_eq!(r1.args, ["--id", "1"]);
    assert_eq!(r1.params["id"], "robot_1");
    assert_eq!(r1.params["speed"], 1.5);
    assert_eq!(r1.params["waypoints"][0], "a1");
    assert_eq!(r1.env["ROBOT"], "1");
    assert_eq!(r1.namespace, "/fleet");
    assert_eq!(
        r1.log.as_deref(),
        Some(d.0.join("logs/robot_1.log").as_path())
    );
    assert_eq!(r1.after, ["controller"]);
    assert_eq!(r1.restart.policy(), RestartPolicy::OnFailure);
    assert_eq!((r1.restart.delay_ms(), r1.restart.max_restarts()), (200, 5));
    assert!(r1.executable.ends_with("true"), "found on PATH");
    assert_eq!(plan.nodes[1].restart.policy(), RestartPolicy::Always);
    assert!(!plan.nodes[0].required && plan.nodes[1].required);
    // `after` a replicated template means after all its replicas.
    let d2 = Dir::new("template");
    let f = d2.file(
        "t.launch.toml",
        "[[node]]\nname = \"r_{i}\"\nexecutable = \"/bin/true\"\ncount = 2\n\n[[node]]\nname = \"summary\"\nexecutable = \"/bin/true\"\nafter = [\"r_{i}\"]\n",
    );
    let plan = load(&f, &[]).unwrap();
    assert_eq!(plan.nodes[2].after, ["r_0", "r_1"]);
}

#[test]
fn mistakes_are_located_to_the_line() {
    let d = Dir::new("errors");
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "unknown key",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\ncolour = \"red\"\n",
            4,
            "unknown field `colour`",
        ),
        (
            "bad type",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\ncount = \"ten\"\n",
            4,
            "invalid type",
        ),
        (
            "missing executable",
            "[[node]]\nname = \"a\"\n\nexecutable = \"no-such-program-anywhere\"\n",
            4,
            "executable `no-such-program-anywhere` not found",
        ),
        (
            "missing name",
            "[[node]]\nexecutable = \"/bin/true\"\n",
            1,
            "missing field `name`",
        ),
        (
            "cycle",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\nafter = [\"b\"]\n\n[[node]]\nname = \"b\"\nexecutable = \"/bin/true\"\nafter = [\"a\"]\n",
            2,
            "dependency cycle: a -> b -> a",
        ),
        (
            "unknown dependency",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\nafter = [\"ghost\"]\n",
            4,
            "`ghost`",
        ),
        (
            "duplicate",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\n\n[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\n",
            6,
            "defined twice (first at",
        ),
        (
            "zero replicas",
            "[[node]]\nname = \"a_{i}\"\nexecutable = \"/bin/true\"\ncount = 0\n",
            4,
            "count must be at least 1",
        ),
        (
            "replicas without {i}",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\ncount = 2\n",
            2,
            "put {i} in the name",
        ),
        (
            "bad restart",
            "[[node]]\nname = \"a\"\nexecutable = \"/bin/true\"\nrestart = \"sometimes\"\n",
            4,
            "",
        ),
        (
            "syntax",
            "[[node]\nname = \"a\"\n",
            1,
            "",
        ),
    ];
    for (what, text, line, needle) in cases {
        let f = d.file(&format!("{}.launch.toml", what.replace(' ', "_")), text);
        let e = error(&f);
        assert_eq!(e.file, f, "{what}");
        assert_eq!(e.line, *line, "{what}: {e}");
        assert!(e.message.contains(needle), "{what}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}:{line}:", f.display())),
            "{e}"
        );
    }
}

#[test]
fn includes_that_are_missing_or_circular_are_located() {
    let d = Dir::new("includes");
    let a = d.file("a.launch.toml", "include = [\"b.launch.toml\"]\n");
    d.file("b.launch.toml", "\ninclude = [\"a.launch.toml\"]\n");
    let e = error(&a);
    assert!(e.message.contains("include cycle"), "{e}");
    assert_eq!(
        (e.file.file_name().unwrap(), e.line),
        ("b.launch.toml".as_ref(), 2)
    );
    let c = d.file("c.launch.toml", "include = [\"missing.launch.toml\"]\n");
    let e = error(&c);
    assert!(e.message.contains("cannot read included"), "{e}");
    assert_eq!((e.file, e.line), (c, 1));
}
