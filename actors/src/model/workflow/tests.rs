use super::*;

fn status(key: &str, kind: StatusKind) -> Status {
    Status {
        key: key.into(),
        name: key.replace('_', " "),
        kind,
        on_enter: Vec::new(),
        on_customer_reply: None,
    }
}

fn step(from: &str, to: &str, role: Role) -> Transition {
    Transition {
        from: from.into(),
        to: to.into(),
        role,
        requires: Requirements::default(),
    }
}

/// An incident: new → in work ⇄ waiting for the customer → resolved → closed, reopened from
/// resolved; closing straight from new is for a supervisor (a duplicate, spam).
fn incident() -> Workflow {
    use StatusKind::*;
    let mut resolve = step("in_work", "resolved", Role::Operator);
    resolve.requires = Requirements {
        fields: vec!["solution".into()],
        comment: false,
        checklist: true,
        approval_by: Vec::new(),
    };
    let mut cancel = step("new", "closed", Role::Supervisor);
    cancel.requires.comment = true;
    let mut close = step("resolved", "closed", Role::Operator);
    close.requires.approval_by = vec![7];
    Workflow {
        statuses: vec![
            Status {
                on_enter: vec![Action::NotifyCustomer {
                    template: "request.created".into(),
                }],
                ..status("new", Open)
            },
            status("in_work", Open),
            status("waiting", Waiting),
            status("resolved", Resolved),
            Status {
                on_enter: vec![Action::StopClock {
                    clock: ClockKind::Resolution,
                }],
                ..status("closed", Closed)
            },
        ],
        transitions: vec![
            step("new", "in_work", Role::Operator),
            step("in_work", "waiting", Role::Operator),
            step("waiting", "in_work", Role::Operator),
            resolve,
            step("resolved", "in_work", Role::Operator),
            close,
            cancel,
        ],
    }
}

fn attempt(role: Role) -> Attempt<'static> {
    Attempt {
        role,
        filled: BTreeSet::new(),
        comment: None,
        checklist_open: 0,
        approved_by: BTreeSet::new(),
    }
}

#[test]
fn a_sound_workflow_passes() {
    assert_eq!(incident().validate(), Ok(()));
    assert_eq!(incident().initial().map(|s| s.key.as_str()), Some("new"));
}

#[test]
fn an_unreachable_status_or_a_dead_end_is_refused_and_named() {
    let mut w = incident();
    w.statuses.insert(2, status("escalated", StatusKind::Open));
    let e = w.validate().unwrap_err();
    assert_eq!(
        (e.field, e.reason, e.args["key"].as_str()),
        ("transitions", "status_unreachable", Some("escalated"))
    );
    // Reachable now, but nothing leads on from it: a request there could never be closed.
    w.transitions.push(step("in_work", "escalated", Role::Operator));
    let e = w.validate().unwrap_err();
    assert_eq!(
        (e.reason, e.args["key"].as_str()),
        ("status_dead_end", Some("escalated"))
    );
    // A loop with no way out is a dead end too.
    w.transitions.push(step("escalated", "parked", Role::Operator));
    w.transitions.push(step("parked", "escalated", Role::Operator));
    w.statuses.push(status("parked", StatusKind::Waiting));
    let e = w.validate().unwrap_err();
    assert_eq!(e.reason, "status_dead_end");
    w.transitions.push(step("parked", "in_work", Role::Supervisor));
    assert_eq!(w.validate(), Ok(()));
}

#[test]
fn malformed_workflows_are_refused() {
    let cases: Vec<(Box<dyn Fn(&mut Workflow)>, &str)> = vec![
        (Box::new(|w| w.statuses.clear()), "required"),
        (Box::new(|w| w.statuses[1].key = "In Work".into()), "status_key"),
        (Box::new(|w| w.statuses[1].name = " ".into()), "required"),
        (Box::new(|w| w.statuses[2].key = "in_work".into()), "status_twice"),
        (Box::new(|w| w.transitions[0].to = "nowhere".into()), "status_unknown"),
        (
            Box::new(|w| w.transitions.push(step("new", "in_work", Role::Admin))),
            "move_twice",
        ),
        (
            Box::new(|w| w.transitions.push(step("new", "new", Role::Admin))),
            "move_twice",
        ),
        (
            Box::new(|w| w.statuses[4].kind = StatusKind::Resolved),
            "no_closed_status",
        ),
    ];
    for (break_it, reason) in cases {
        let mut w = incident();
        break_it(&mut w);
        assert_eq!(w.validate().unwrap_err().reason, reason);
    }
    let mut big = incident();
    big.statuses
        .extend((0..MAX_STATUSES).map(|i| status(&format!("s{i}"), StatusKind::Open)));
    assert_eq!(big.validate().unwrap_err().reason, "too_many");
}

#[test]
fn the_buttons_follow_the_role() {
    let w = incident();
    let keys = |role| w.moves_from("new", role).map(|t| t.to.as_str()).collect::<Vec<_>>();
    assert_eq!(keys(Role::Operator), ["in_work"]);
    assert_eq!(keys(Role::Supervisor), ["in_work", "closed"]);
    assert_eq!(keys(Role::Admin), ["in_work", "closed"]);
}

#[test]
fn a_move_says_what_it_still_needs() {
    let w = incident();
    assert_eq!(
        w.check("new", "resolved", &attempt(Role::Admin))
            .unwrap_err()
            .reason()
            .0,
        "move_unknown"
    );
    assert_eq!(
        w.check("new", "closed", &attempt(Role::Operator)).unwrap_err(),
        MoveError::Role {
            needs: Role::Supervisor
        }
    );
    assert_eq!(
        w.check("new", "closed", &attempt(Role::Supervisor)).unwrap_err(),
        MoveError::CommentNeeded
    );
    let blank = Attempt {
        comment: Some("  "),
        ..attempt(Role::Supervisor)
    };
    assert_eq!(w.check("new", "closed", &blank).unwrap_err(), MoveError::CommentNeeded);
    let said = Attempt {
        comment: Some("a duplicate of #12"),
        ..attempt(Role::Supervisor)
    };
    assert!(w.check("new", "closed", &said).is_ok());

    // Resolving needs the solution written and the checklist done, in that order.
    let mut a = attempt(Role::Operator);
    assert_eq!(
        w.check("in_work", "resolved", &a).unwrap_err(),
        MoveError::FieldEmpty {
            field: "solution".into()
        }
    );
    a.filled.insert("solution");
    a.checklist_open = 2;
    let e = w.check("in_work", "resolved", &a).unwrap_err();
    assert_eq!(e.reason(), ("move_checklist", json!({ "left": 2 })));
    a.checklist_open = 0;
    assert_eq!(
        w.check("in_work", "resolved", &a).map(|t| t.to.as_str()),
        Ok("resolved")
    );

    // Closing waits for the named approver, whoever asks.
    let mut a = attempt(Role::Admin);
    a.approved_by.insert(3);
    assert_eq!(
        w.check("resolved", "closed", &a).unwrap_err(),
        MoveError::ApprovalNeeded { from_users: vec![7] }
    );
    a.approved_by.insert(7);
    assert!(w.check("resolved", "closed", &a).is_ok());
}

#[test]
fn a_workflow_reads_as_the_back_office_writes_it() {
    let json = json!({
        "statuses": [
            {"key": "new", "name": "Новая", "kind": "open", "on_enter": [{"do": "assign", "group": 3}]},
            {"key": "done", "name": "Закрыта", "kind": "closed", "on_enter": [{"do": "stop_clock", "clock": "resolution"}]}
        ],
        "transitions": [{"from": "new", "to": "done", "role": "operator", "requires": {"comment": true}}]
    });
    let w: Workflow = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(w.validate(), Ok(()));
    assert_eq!(w.statuses[0].on_enter, vec![Action::Assign { group: 3 }]);
    // A field nobody knows is refused, not dropped (a typo would silently lose a requirement).
    let mut typo = json;
    typo["transitions"][0]["requires"]["coment"] = json!(true);
    assert!(serde_json::from_value::<Workflow>(typo).is_err());
}

#[test]
fn the_customers_message_moves_a_request_where_its_status_says() {
    let mut w = incident();
    w.statuses[2].on_customer_reply = Some("in_work".into());
    w.statuses[3].on_customer_reply = Some("in_work".into());
    assert_eq!(w.validate(), Ok(()));
    assert_eq!(w.on_customer_reply("waiting").map(|s| s.key.as_str()), Some("in_work"));
    assert_eq!(w.on_customer_reply("resolved").map(|s| s.key.as_str()), Some("in_work"));
    assert_eq!(w.on_customer_reply("in_work"), None);
    assert_eq!(w.on_customer_reply("gone"), None);

    let mut unknown = w.clone();
    unknown.statuses[2].on_customer_reply = Some("nowhere".into());
    let e = unknown.validate().unwrap_err();
    assert_eq!((e.field, e.reason), ("statuses", "status_unknown"));

    let mut itself = w.clone();
    itself.statuses[2].on_customer_reply = Some("waiting".into());
    let e = itself.validate().unwrap_err();
    assert_eq!((e.reason, e.args["key"].as_str()), ("reply_move", Some("waiting")));

    // A closed request stays closed: the customer's new mail is a new request.
    let mut closed = w.clone();
    closed.statuses[4].on_customer_reply = Some("in_work".into());
    assert_eq!(closed.validate().unwrap_err().reason, "reply_move");
}

#[test]
fn a_notice_is_checked_when_saved_and_filled_when_sent() {
    let with = |template: &str| {
        let mut w = incident();
        w.statuses[1].on_enter = vec![Action::NotifyCustomer {
            template: template.into(),
        }];
        w.validate().map_err(|e| e.reason)
    };
    assert_eq!(with("Заявка №{id} «{subject}»: {status}.\nСпасибо!"), Ok(()));
    assert_eq!(with("   "), Err("notice_required"));
    assert_eq!(with("Заявка {number}"), Err("notice_placeholder"));
    assert_eq!(with(&"x".repeat(1001)), Err("too_long"));
    assert_eq!(with("a\u{7}b"), Err("control_chars"));
    assert_eq!(
        notice("Заявка №{id} «{subject}»: {status}.", 42, "Касса", "В работе"),
        "Заявка №42 «Касса»: В работе."
    );
    // What the customer wrote stays as written, braces and all.
    assert_eq!(notice("{subject} / {status}", 1, "{status}", "x"), "{status} / x");
}
