//! `System` as a `stateright::Model`, in the shape of stateright's own
//! examples: `init_states`, `actions`, `next_state`, `properties`, and the
//! explorer's text and picture of a step. (Beside `model.rs` rather than in
//! it: the picture names what breaks a property, which reads `System`.)

use crate::action::Action;
use crate::diff::{describe, diff};
use crate::model::{System, Walk};
use crate::properties::Kind;
use crate::property::{self, Prop};
use crate::state::State;
use stateright::{Model, Property};

impl Model for System {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.bounds.sysfs.iter().map(|&m| State::init(m)).collect()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.for_each_action(state, |_, a| actions.push(a));
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        self.step(last, &action).ok().map(|(_, s)| s)
    }

    fn format_action(&self, action: &Action) -> String {
        action.to_string()
    }

    /// The explorer's text for a step: the call with its result, what it
    /// changed and the state after it, in the words of the text traces.
    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let (ret, next) = self.step(last, &action).ok()?;
        let mut changes = diff(last, &next, self.bounds.vmas);
        if changes.is_empty() {
            changes.push("nothing".to_string());
        }
        let indent = |lines: Vec<String>| -> String { lines.iter().map(|l| format!("  {l}\n")).collect() };
        Some(format!(
            "{action} = {ret}\n\nchanged:\n{}\nstate:\n{}",
            indent(changes),
            indent(describe(&next, self.bounds.vmas))
        ))
    }

    /// The picture of the path's last state (see `svg.rs`). The path's steps
    /// are replayed for their results; a step the model ignores is left out.
    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        let states = path.into_vec();
        let init = states.first()?.0;
        let mut walk = Walk { init, steps: Vec::new() };
        let mut cur = init;
        for (_, action) in &states {
            if let Some(a) = action {
                if let Ok((r, next)) = self.step(&cur, a) {
                    walk.steps.push((*a, r, next));
                    cur = next;
                }
            }
        }
        Some(crate::svg::render(self, &walk))
    }

    /// A catalogue property is its own function; one a spec defines is
    /// evaluated through `property::condition_of` its index.
    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let condition = match p {
                    Prop::Catalogue(d) => d.condition,
                    Prop::Spec(_) => property::condition_of(i),
                };
                let name = p.static_name();
                match p.kind() {
                    Kind::Always => Property::always(name, condition),
                    Kind::Sometimes => Property::sometimes(name, condition),
                }
            })
            .collect()
    }
}
