//! ROS 2 names on DDS, as every ROS 2 middleware (rmw) maps them: topics under `rt/`,
//! service requests and replies under `rq/...Request` and `rr/...Reply`, and type names
//! `pkg::msg::dds_::Type_`. Mesh names are resolved ROS names already (`/ns/topic`).

/// What a DDS topic carries for ROS 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A topic (`rt/`).
    Topic,
    /// A service's requests (`rq/<name>Request`).
    Request,
    /// A service's replies (`rr/<name>Reply`).
    Reply,
}

/// The DDS topic name of ROS name `name` (absolute, `/a/b`).
#[must_use]
pub fn dds_topic(name: &str, kind: Kind) -> String {
    let bare = name.trim_start_matches('/');
    match kind {
        Kind::Topic => format!("rt/{bare}"),
        Kind::Request => format!("rq/{bare}Request"),
        Kind::Reply => format!("rr/{bare}Reply"),
    }
}

/// The DDS type name of interface type `type_name` (`pkg/msg/Type`, or for services
/// `pkg/srv/Type_Request` / `_Response` as the registry names them).
#[must_use]
pub fn dds_type(type_name: &str) -> Option<String> {
    let mut parts = type_name.split('/');
    let (Some(pkg), Some(kind), Some(ty), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if pkg.is_empty() || ty.is_empty() || !matches!(kind, "msg" | "srv" | "action") {
        return None;
    }
    Some(format!("{pkg}::{kind}::dds_::{ty}_"))
}

/// Joins a ROS namespace and a relative or absolute name into an absolute name.
#[must_use]
pub fn absolute(namespace: &str, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let ns = namespace.trim_end_matches('/');
    if ns.is_empty() {
        format!("/{name}")
    } else if ns.starts_with('/') {
        format!("{ns}/{name}")
    } else {
        format!("/{ns}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rmw_conventions() {
        assert_eq!(dds_topic("/chatter", Kind::Topic), "rt/chatter");
        assert_eq!(
            dds_topic("/robot_1/cmd_vel", Kind::Topic),
            "rt/robot_1/cmd_vel"
        );
        assert_eq!(
            dds_topic("/add_two_ints", Kind::Request),
            "rq/add_two_intsRequest"
        );
        assert_eq!(
            dds_topic("/add_two_ints", Kind::Reply),
            "rr/add_two_intsReply"
        );
        assert_eq!(
            dds_type("std_msgs/msg/String").as_deref(),
            Some("std_msgs::msg::dds_::String_")
        );
        assert_eq!(
            dds_type("example_interfaces/srv/AddTwoInts_Request").as_deref(),
            Some("example_interfaces::srv::dds_::AddTwoInts_Request_")
        );
        assert_eq!(dds_type("std_msgs/String"), None);
        assert_eq!(dds_type("a/b/c/d"), None);
        assert_eq!(absolute("/", "chatter"), "/chatter");
        assert_eq!(absolute("/fleet", "chatter"), "/fleet/chatter");
        assert_eq!(absolute("fleet/", "chatter"), "/fleet/chatter");
        assert_eq!(absolute("/fleet", "/abs"), "/abs");
    }
}
