//! A user crate: its own interface package, generated at build time, referencing the bundled
//! `omni-msgs` types instead of regenerating them.

include!(concat!(env!("OUT_DIR"), "/interfaces/mod.rs"));

#[cfg(test)]
mod tests {
    use mesh_msg_runtime::{Message, Sample};

    use crate::fleet_extras::msg::DockReport;

    #[test]
    fn extern_types_are_the_bundled_ones() {
        let mut report = DockReport::sample(5);
        // The field type *is* omni_msgs' RobotState, not a regenerated copy.
        let state: &omni_msgs::omni_msgs::msg::RobotState = &report.robot;
        assert!(state.validate().is_ok());
        report.robot.robot_id = "y".repeat(65);
        let err = report.to_cdr().unwrap_err().to_string();
        assert!(
            err.contains("fleet_extras/msg/DockReport.robot.robot_id"),
            "{err}"
        );
        report.robot.robot_id = "amr-1".into();
        let bytes = report.to_cdr().unwrap();
        assert_eq!(DockReport::from_cdr(&bytes).unwrap(), report);
        assert_eq!(DockReport::RESULT_MISALIGNED, 1);
        assert!(!DockReport::TYPE_HASH.to_string().is_empty());
        // Only the user's package was generated.
        let mut generated = Vec::new();
        macro_rules! collect {
            ($t:path) => {
                generated.push(<$t as Message>::TYPE_NAME)
            };
        }
        for_each_message!(collect);
        assert_eq!(generated, ["fleet_extras/msg/DockReport"]);
    }
}
