//! The letter sets of a SAS (`ss`, `srt`, `sp`) and its protocol (`spr`).
//!
//! Each letter set is a small bit set over a fixed alphabet. `Display` (and `Serialize`) print the
//! letters in Azure's canonical order whatever order they were given in, so two tokens with the
//! same rights print the same way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SasError;

macro_rules! letter_set {
    (
        $(#[$meta:meta])*
        $name:ident, param = $param:literal,
        letters = [$(($letter:literal, $meaning:literal)),+ $(,)?]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            bits: u16,
        }

        impl $name {
            /// The query parameter this set is carried in.
            pub const PARAM: &'static str = $param;

            /// Every letter Azure defines for this parameter, in Azure's canonical order.
            pub const ALPHABET: &'static str = concat!($($letter),+);

            const LETTERS: &'static [(char, &'static str)] = &[$(($letter, $meaning)),+];

            /// Parses letters such as `"rwl"`, in any order; repeated letters are allowed.
            ///
            /// Letters outside [`Self::ALPHABET`] give [`SasError::UnknownLetters`] naming each of
            /// them once.
            pub fn from_letters(letters: &str) -> Result<Self, SasError> {
                let mut bits = 0u16;
                let mut unknown = String::new();
                for letter in letters.chars() {
                    match Self::index(letter) {
                        Some(i) => bits |= 1 << i,
                        None if !unknown.contains(letter) => unknown.push(letter),
                        None => {}
                    }
                }
                if unknown.is_empty() {
                    Ok(Self { bits })
                } else {
                    Err(SasError::UnknownLetters {
                        param: Self::PARAM,
                        letters: unknown,
                    })
                }
            }

            /// Whether `letter` is in the set.
            pub fn contains(&self, letter: char) -> bool {
                Self::index(letter).is_some_and(|i| self.bits & (1 << i) != 0)
            }

            /// Whether the set holds no letter at all.
            pub fn is_empty(&self) -> bool {
                self.bits == 0
            }

            /// What a letter of this parameter stands for (e.g. `'l'` → `"list"` in `sp`), or
            /// `None` for a letter Azure does not define here.
            pub fn letter_meaning(letter: char) -> Option<&'static str> {
                Self::index(letter).map(|i| Self::LETTERS[i].1)
            }

            fn index(letter: char) -> Option<usize> {
                Self::LETTERS.iter().position(|&(l, _)| l == letter)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for &(letter, _) in Self::LETTERS {
                    if self.contains(letter) {
                        fmt::Write::write_char(f, letter)?;
                    }
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(\"{}\")", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = SasError;

            fn from_str(s: &str) -> Result<Self, SasError> {
                Self::from_letters(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let letters = String::deserialize(deserializer)?;
                Self::from_letters(&letters).map_err(serde::de::Error::custom)
            }
        }
    };
}

letter_set! {
    /// The storage services an account SAS covers (`ss`): `b` blob, `f` file, `q` queue,
    /// `t` table. `writeback` needs `b`.
    Services, param = "ss",
    letters = [('b', "blob"), ('f', "file"), ('q', "queue"), ('t', "table")]
}

letter_set! {
    /// The resource types an account SAS covers (`srt`): `s` service (e.g. List Containers),
    /// `c` container (e.g. Create Container), `o` object (blobs).
    ResourceTypes, param = "srt",
    letters = [('s', "service"), ('c', "container"), ('o', "object")]
}

letter_set! {
    /// The permissions a SAS grants (`sp`), printed in the account-SAS order `rwdxylacuptfi`.
    Permissions, param = "sp",
    letters = [
        ('r', "read"),
        ('w', "write"),
        ('d', "delete"),
        ('x', "delete version"),
        ('y', "permanent delete"),
        ('l', "list"),
        ('a', "add"),
        ('c', "create"),
        ('u', "update"),
        ('p', "process"),
        ('t', "tag"),
        ('f', "filter by tags"),
        ('i', "set immutability policy"),
    ]
}

/// The service-SAS (container SAS) order of the permission letters we know.
///
/// Azure documents `racwdxyltfmeopi` for blob and container SAS; `m`, `e` and `o` have no
/// account-SAS meaning and cannot be in [`Permissions`]. `u` is not a blob permission at all:
/// it goes last, and Azure refuses a container SAS that carries it.
pub(crate) const SERVICE_SAS_ORDER: &str = "racwdxyltfpiu";

impl Permissions {
    /// The letters in the order a service (container) SAS lists them; see [`SERVICE_SAS_ORDER`].
    pub(crate) fn service_sas_letters(&self) -> String {
        SERVICE_SAS_ORDER
            .chars()
            .filter(|&c| self.contains(c))
            .collect()
    }
}

/// The protocols a SAS may be used over (`spr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `spr=https`: Azure refuses requests made over plain HTTP.
    HttpsOnly,
    /// `spr=https,http` (also Azure's behaviour when `spr` is absent).
    HttpsOrHttp,
}

impl Protocol {
    /// The `spr` value: `https` or `https,http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpsOnly => "https",
            Protocol::HttpsOrHttp => "https,http",
        }
    }
}

impl FromStr for Protocol {
    type Err = SasError;

    /// Accepts exactly the two values Azure defines, `https` and `https,http`.
    fn from_str(s: &str) -> Result<Self, SasError> {
        match s {
            "https" => Ok(Protocol::HttpsOnly),
            "https,http" => Ok(Protocol::HttpsOrHttp),
            other => Err(SasError::InvalidProtocol {
                value: super::error::shown(other),
            }),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    use super::*;

    #[test]
    fn display_is_canonical_order() {
        let cases = [
            (Services::from_letters("tqfb").unwrap().to_string(), "bfqt"),
            (Services::from_letters("bb").unwrap().to_string(), "b"),
            (
                ResourceTypes::from_letters("ocs").unwrap().to_string(),
                "sco",
            ),
            (Permissions::from_letters("lwr").unwrap().to_string(), "rwl"),
            (
                Permissions::from_letters("rwdlacupiytfx")
                    .unwrap()
                    .to_string(),
                "rwdxylacuptfi",
            ),
            (Permissions::from_letters("").unwrap().to_string(), ""),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn contains_and_meaning() {
        let p = Permissions::from_letters("rl").unwrap();
        assert!(p.contains('r') && p.contains('l'));
        assert!(!p.contains('w') && !p.contains('z'));
        assert_eq!(Permissions::letter_meaning('l'), Some("list"));
        assert_eq!(ResourceTypes::letter_meaning('s'), Some("service"));
        assert_eq!(Services::letter_meaning('z'), None);
        assert!(Services::default().is_empty());
    }

    #[test]
    fn unknown_letters_are_named_once() {
        let cases = [
            (Services::from_letters("bxzx").unwrap_err(), "ss", "xz"),
            (ResourceTypes::from_letters("scoB").unwrap_err(), "srt", "B"),
            (Permissions::from_letters("rwq").unwrap_err(), "sp", "q"),
        ];
        for (err, param, letters) in cases {
            assert_eq!(
                err,
                SasError::UnknownLetters {
                    param,
                    letters: letters.to_owned()
                }
            );
        }
    }

    #[test]
    fn protocol_from_str() {
        assert_eq!("https".parse::<Protocol>().unwrap(), Protocol::HttpsOnly);
        assert_eq!(
            "https,http".parse::<Protocol>().unwrap(),
            Protocol::HttpsOrHttp
        );
        for bad in ["http", "http,https", "HTTPS", ""] {
            assert!(
                matches!(
                    bad.parse::<Protocol>(),
                    Err(SasError::InvalidProtocol { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn deserialize_from_letters() {
        let de: StrDeserializer<'_, DeError> = "lr".into_deserializer();
        assert_eq!(Permissions::deserialize(de).unwrap().to_string(), "rl");
        let de: StrDeserializer<'_, DeError> = "bz".into_deserializer();
        assert!(Services::deserialize(de).is_err());
        let de: StrDeserializer<'_, DeError> = "https,http".into_deserializer();
        assert_eq!(Protocol::deserialize(de).unwrap(), Protocol::HttpsOrHttp);
    }

    #[test]
    fn service_sas_order() {
        let p = Permissions::from_letters("lwcdar").unwrap();
        assert_eq!(p.service_sas_letters(), "racwdl");
    }
}
