//! Owner, group and mode of a file on a host, and a RabbitMQ login to try:
//! plain values the facts, the plan and the resources share.

use serde::{Deserialize, Serialize};

/// Owner, group and mode of a file or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Perms {
    pub owner: String,
    pub group: String,
    /// Written as an octal string (`"0640"`) in JSON; a number is read too.
    #[serde(with = "octal_mode")]
    pub mode: u32,
}

/// File modes in JSON as people write them (`"0640"`), not as decimal numbers.
mod octal_mode {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Mode {
        Number(u32),
        Octal(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        match Mode::deserialize(d)? {
            Mode::Number(n) => Ok(n),
            Mode::Octal(s) => u32::from_str_radix(&s, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    D::Error::custom(format!("`{s}` is not a file mode (e.g. \"0640\")"))
                }),
        }
    }
}

/// A RabbitMQ login to try over AMQP on the host's loopback: `user` with the
/// secret `password`, opening `vhost`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AmqpLogin {
    pub user: String,
    pub vhost: String,
    /// The secret's name.
    pub password: String,
    pub port: u16,
}

impl AmqpLogin {
    /// Its key in the facts (`openstack@/:5672`).
    pub fn key(&self) -> String {
        format!("{}@{}:{}", self.user, self.vhost, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::Perms;

    #[test]
    fn modes_are_octal_strings_in_json_and_numbers_still_read() {
        let p = Perms {
            owner: "keystone".into(),
            group: "keystone".into(),
            mode: 0o640,
        };
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(
            j,
            r#"{"owner":"keystone","group":"keystone","mode":"0640"}"#
        );
        assert_eq!(serde_json::from_str::<Perms>(&j).unwrap(), p);
        let old = r#"{"owner":"keystone","group":"keystone","mode":416}"#;
        assert_eq!(serde_json::from_str::<Perms>(old).unwrap(), p);
        let bad = r#"{"owner":"a","group":"a","mode":"0989"}"#;
        let e = serde_json::from_str::<Perms>(bad).unwrap_err().to_string();
        assert!(e.contains("`0989` is not a file mode"), "{e}");
    }
}
