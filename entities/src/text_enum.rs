//! The macro that declares a closed set of values stored as text: its SeaORM mapping, `as_str`,
//! `ALL` and `Display`, from one list of `Variant = "TEXT"` pairs. Both databases' typed columns
//! use it (`missions::status`, `users::kinds`).

/// Declares a text-valued enum: its SeaORM mapping, `as_str`, `ALL` and `Display`, from one
/// list of `Variant = "TEXT"` pairs.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $( $(#[$vmeta])* #[sea_orm(string_value = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as stored.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;
