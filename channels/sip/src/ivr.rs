//! The IVR's menu as a pure rule: the caller hears the greeting and the menu; a listed key
//! chooses its service; an unlisted key or silence replays the menu, and after `repeats` replays
//! the call goes to the default service.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub greeting: String,
    /// The prompt listing the choices ("Нажмите 1 …").
    pub prompt: String,
    pub choices: BTreeMap<char, i64>,
    pub default_service: i64,
    /// How long the menu waits for a key after the prompt ends.
    pub wait_ms: u64,
    pub repeats: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Queue the call for this service.
    Route(i64),
    /// Say the menu again (after an invalid key, say "no such choice" first).
    Repeat { invalid: bool },
}

/// Where the menu is: how many times it has been said.
#[derive(Debug, Default)]
pub struct MenuState {
    said: u32,
}

impl MenuState {
    /// The caller pressed `key`.
    pub fn key(&mut self, menu: &Menu, key: char) -> Step {
        if let Some(&service) = menu.choices.get(&key) {
            return Step::Route(service);
        }
        self.again(menu, true)
    }

    /// The menu ended with no key within `wait_ms`.
    pub fn silence(&mut self, menu: &Menu) -> Step {
        self.again(menu, false)
    }

    fn again(&mut self, menu: &Menu, invalid: bool) -> Step {
        self.said += 1;
        if self.said > menu.repeats || menu.choices.is_empty() {
            Step::Route(menu.default_service)
        } else {
            Step::Repeat { invalid }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Menu {
        Menu {
            greeting: "Здравствуйте".into(),
            prompt: "Нажмите 1 или 2".into(),
            choices: [('1', 10), ('2', 20)].into_iter().collect(),
            default_service: 10,
            wait_ms: 5000,
            repeats: 2,
        }
    }

    #[test]
    fn a_listed_key_routes_at_once() {
        assert_eq!(MenuState::default().key(&menu(), '2'), Step::Route(20));
    }

    #[test]
    fn invalid_keys_and_silence_repeat_then_default() {
        let m = menu();
        let mut s = MenuState::default();
        assert_eq!(s.key(&m, '9'), Step::Repeat { invalid: true });
        assert_eq!(s.silence(&m), Step::Repeat { invalid: false });
        assert_eq!(s.silence(&m), Step::Route(10));
    }

    #[test]
    fn a_menu_without_choices_routes_to_default() {
        let m = Menu {
            choices: BTreeMap::new(),
            ..menu()
        };
        assert_eq!(MenuState::default().silence(&m), Step::Route(10));
    }
}
