//! Service and action expansion (GRAMMAR-FACTS H.39-41): the structs ROS generates from a
//! `.srv` or `.action`, the dummy member of empty structs, and the pseudo-struct descriptions
//! that type hashes use for services and actions.

use std::path::Path;

use crate::model::{
    ArrayKind, BaseType, Doc, Field, FieldType, Interface, Kind, Primitive, Span, StructDef,
    TypeName, DUMMY_MEMBER,
};

/// The parts of a service: its three structs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceParts {
    /// `S_Request`
    pub request: TypeName,
    /// `S_Response`
    pub response: TypeName,
    /// `S_Event`
    pub event: TypeName,
}

/// The parts of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionParts {
    /// `A_Goal`
    pub goal: TypeName,
    /// `A_Result`
    pub result: TypeName,
    /// `A_Feedback`
    pub feedback: TypeName,
    /// `A_SendGoal` (a service)
    pub send_goal: TypeName,
    /// `A_GetResult` (a service)
    pub get_result: TypeName,
    /// `A_FeedbackMessage`
    pub feedback_message: TypeName,
}

/// Everything one interface file expands to.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Structs, each with at least one field.
    pub structs: Vec<StructDef>,
    /// Services (including an action's two).
    pub services: Vec<(TypeName, ServiceParts)>,
    /// Actions.
    pub actions: Vec<(TypeName, ActionParts)>,
}

fn named(package: &str, kind: Kind, name: &str) -> BaseType {
    BaseType::Named(TypeName::new(package, kind, name))
}

fn field(name: &str, base: BaseType, array: ArrayKind) -> Field {
    Field {
        name: name.to_owned(),
        ty: FieldType { base, array },
        default: None,
        doc: Doc::default(),
        span: Span { line: 1, col: 1 },
    }
}

fn generated(name: TypeName, source: &Path, doc: &str, fields: Vec<Field>) -> StructDef {
    StructDef {
        name,
        doc: Doc {
            text: doc.to_owned(),
            unit: None,
        },
        fields,
        constants: Vec::new(),
        source: source.to_owned(),
    }
}

/// Adds the dummy `uint8` member to a struct without fields.
#[must_use]
pub fn with_dummy_member(mut s: StructDef) -> StructDef {
    if s.fields.is_empty() {
        s.fields.push(field(
            DUMMY_MEMBER,
            BaseType::Primitive(Primitive::UInt8),
            ArrayKind::Single,
        ));
    }
    s
}

/// Adds a service's request, response and event structs to `out`.
fn expand_service(out: &mut Expanded, name: &TypeName, request: StructDef, response: StructDef) {
    let event_name = TypeName::new(&name.package, name.kind, &format!("{}_Event", name.name));
    let source = request.source.clone();
    let event = generated(
        event_name.clone(),
        &source,
        &format!("Introspection event of service `{name}`."),
        vec![
            field(
                "info",
                named("service_msgs", Kind::Msg, "ServiceEventInfo"),
                ArrayKind::Single,
            ),
            field(
                "request",
                BaseType::Named(request.name.clone()),
                ArrayKind::Bounded(1),
            ),
            field(
                "response",
                BaseType::Named(response.name.clone()),
                ArrayKind::Bounded(1),
            ),
        ],
    );
    out.services.push((
        name.clone(),
        ServiceParts {
            request: request.name.clone(),
            response: response.name.clone(),
            event: event_name,
        },
    ));
    out.structs.push(with_dummy_member(request));
    out.structs.push(with_dummy_member(response));
    out.structs.push(event);
}

/// Expands one parsed interface.
#[must_use]
pub fn expand(interface: Interface) -> Expanded {
    let mut out = Expanded::default();
    match interface {
        Interface::Message(s) => out.structs.push(with_dummy_member(s)),
        Interface::Service {
            name,
            request,
            response,
        } => {
            expand_service(&mut out, &name, request, response);
        }
        Interface::Action {
            name,
            goal,
            result,
            feedback,
        } => {
            let pkg = name.package.clone();
            let part = |suffix: &str| {
                TypeName::new(&pkg, Kind::Action, &format!("{}_{suffix}", name.name))
            };
            let source = goal.source.clone();
            let uuid = || named("unique_identifier_msgs", Kind::Msg, "UUID");
            let single = ArrayKind::Single;
            let parts = ActionParts {
                goal: goal.name.clone(),
                result: result.name.clone(),
                feedback: feedback.name.clone(),
                send_goal: part("SendGoal"),
                get_result: part("GetResult"),
                feedback_message: part("FeedbackMessage"),
            };
            expand_service(
                &mut out,
                &parts.send_goal,
                generated(
                    part("SendGoal_Request"),
                    &source,
                    "Request to start a goal.",
                    vec![
                        field("goal_id", uuid(), single),
                        field("goal", BaseType::Named(parts.goal.clone()), single),
                    ],
                ),
                generated(
                    part("SendGoal_Response"),
                    &source,
                    "Whether the goal was accepted.",
                    vec![
                        field("accepted", BaseType::Primitive(Primitive::Bool), single),
                        field(
                            "stamp",
                            named("builtin_interfaces", Kind::Msg, "Time"),
                            single,
                        ),
                    ],
                ),
            );
            expand_service(
                &mut out,
                &parts.get_result,
                generated(
                    part("GetResult_Request"),
                    &source,
                    "Asks for a goal's result.",
                    vec![field("goal_id", uuid(), single)],
                ),
                generated(
                    part("GetResult_Response"),
                    &source,
                    "A goal's final status and result.",
                    vec![
                        field("status", BaseType::Primitive(Primitive::Int8), single),
                        field("result", BaseType::Named(parts.result.clone()), single),
                    ],
                ),
            );
            out.structs.push(generated(
                parts.feedback_message.clone(),
                &source,
                "Feedback for one goal, as published on the feedback topic.",
                vec![
                    field("goal_id", uuid(), single),
                    field("feedback", BaseType::Named(parts.feedback.clone()), single),
                ],
            ));
            out.structs.push(with_dummy_member(goal));
            out.structs.push(with_dummy_member(result));
            out.structs.push(with_dummy_member(feedback));
            out.actions.push((name, parts));
        }
    }
    out
}
