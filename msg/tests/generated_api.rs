//! The generated API of our own packages: names, defaults, constants, bounds with field paths,
//! services and actions.

use omni_msgs::omni_msgs::action::{NavigateTo, NavigateToGoal, NavigateToSendGoalRequest};
use omni_msgs::omni_msgs::msg::{FleetTask, RobotState};
use omni_msgs::omni_msgs::srv::{AssignTask, AssignTaskRequest, SetModeRequest};
use omni_msgs::rt::{Action, BoundsViolation, Message, Sample, Service};

#[test]
fn names_hashes_and_defaults() {
    assert_eq!(RobotState::TYPE_NAME, "omni_msgs/msg/RobotState");
    assert_eq!(
        <AssignTask as Service>::TYPE_NAME,
        "omni_msgs/srv/AssignTask"
    );
    assert_eq!(
        <NavigateTo as Action>::TYPE_NAME,
        "omni_msgs/action/NavigateTo"
    );
    assert_eq!(
        NavigateToSendGoalRequest::TYPE_NAME,
        "omni_msgs/action/NavigateTo_SendGoal_Request"
    );
    assert_ne!(RobotState::TYPE_HASH, FleetTask::TYPE_HASH);
    assert!(RobotState::TYPE_HASH.to_string().starts_with("RIHS01_"));
    assert_eq!(FleetTask::default().priority, 100);
    let goal = NavigateToGoal::default();
    assert_eq!(goal.tolerance_m, 0.1);
    assert_eq!(goal.max_speed_mps, 1.0);
    assert_eq!(SetModeRequest::MODE_AUTONOMOUS, RobotState::MODE_AUTONOMOUS);
    let schema: &str = RobotState::JSON_SCHEMA;
    assert!(
        schema.contains("\"robot_id\":{\"type\":\"string\",\"maxLength\":64"),
        "{schema}"
    );
}

#[test]
fn bounds_errors_name_the_nested_field() {
    let mut request = AssignTaskRequest::sample(3);
    assert!(request.validate().is_ok());
    request.robot_id = "r".repeat(1000); // unbounded: fine
    assert!(request.validate().is_ok());
    let mut state = RobotState::sample(1);
    state.active_faults = (0..17).map(|i| format!("fault-{i}")).collect();
    let err = state.to_cdr().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("omni_msgs/msg/RobotState.active_faults"),
        "{text}"
    );
    state.active_faults.truncate(2);
    state.robot_id = "x".repeat(65);
    let omni_msgs::rt::cdr::CdrEncodeError::Bounds(err) = state.to_cdr().unwrap_err() else {
        panic!("expected a bounds error")
    };
    assert_eq!(err.field, "robot_id");
    assert_eq!(
        err.violation,
        BoundsViolation::StringTooLong { len: 65, max: 64 }
    );
}
