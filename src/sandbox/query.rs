//! Query-string helpers shared by the routes: repeated parameters, paging,
//! `relationship=` lists and `filter=` expressions.

use std::collections::BTreeSet;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::error::ApiError;
use super::money;

/// The decoded `key=value` pairs of a query string, in order, repeats kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> QueryParams {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        QueryParams(pairs)
    }

    /// The last value of `key` (later repeats win, as in most web frameworks).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The requested relationships: repeated `relationship=a&relationship=b`
    /// (documented) and comma-separated `relationship=a,b` (laravel-everflow).
    pub fn relationships(&self) -> BTreeSet<String> {
        self.all("relationship")
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// Everflow's documented maximum page size ("typically 2,000", paging.mdx).
pub(crate) const MAX_PAGE_SIZE: u64 = 2000;
/// Everflow's default page size (paging.mdx).
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 50;

/// A validated `page`/`page_size` pair (1-based page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub page: u64,
    pub page_size: u64,
}

impl Paging {
    pub fn from_query(q: &QueryParams) -> Result<Paging, ApiError> {
        Paging::from_query_or(q, DEFAULT_PAGE_SIZE)
    }

    /// Like [`Paging::from_query`] for an endpoint whose page size defaults to
    /// `default_size` (LEGACY offer URLs: no page/page_size = the first 2000).
    pub fn from_query_or(q: &QueryParams, default_size: u64) -> Result<Paging, ApiError> {
        let number = |name: &str, default: u64| -> Result<u64, ApiError> {
            match q.get(name) {
                None | Some("") => Ok(default),
                Some(v) => v.trim().parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a positive integer"))
                }),
            }
        };
        let page = number("page", 1)?;
        let page_size = number("page_size", default_size)?;
        if page < 1 {
            return Err(ApiError::bad_request("page must be a positive integer"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ApiError::bad_request(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        Ok(Paging { page, page_size })
    }

    /// This page of `items` and the `paging` object for it.
    pub fn apply<T>(&self, items: Vec<T>) -> (Vec<T>, Value) {
        let total = items.len();
        let start = usize::try_from((self.page - 1).saturating_mul(self.page_size))
            .unwrap_or(usize::MAX)
            .min(total);
        let size = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
        let paging = json!({
            "page": self.page,
            "page_size": self.page_size,
            "total_count": total,
        });
        (page, paging)
    }
}

/// A comparison operator of `filter=` (api-filters.mdx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Gt,
    Lt,
}

/// One `filter=<field><op><value>` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub field: String,
    pub op: Op,
    pub value: String,
}

impl FromStr for Filter {
    type Err = ApiError;

    /// Splits at the first operator character; the value may contain more.
    fn from_str(s: &str) -> Result<Filter, ApiError> {
        let at = s
            .find(['=', '>', '<'])
            .ok_or_else(|| ApiError::bad_request(format!("invalid filter `{s}`")))?;
        let field = s[..at].trim();
        if field.is_empty() {
            return Err(ApiError::bad_request(format!("invalid filter `{s}`")));
        }
        let op = match s.as_bytes()[at] {
            b'=' => Op::Eq,
            b'>' => Op::Gt,
            _ => Op::Lt,
        };
        Ok(Filter {
            field: field.to_owned(),
            op,
            value: s[at + 1..].to_owned(),
        })
    }
}

impl Filter {
    /// Every `filter=` of the query, parsed, and every `filter[field]=value`
    /// (the spelling of SNAP offer-urls.yaml) as an equality.
    pub fn all_from(q: &QueryParams) -> Result<Vec<Filter>, ApiError> {
        let mut filters: Vec<Filter> = q.all("filter").map(str::parse).collect::<Result<_, _>>()?;
        for (k, v) in &q.0 {
            if let Some(field) = k.strip_prefix("filter[").and_then(|f| f.strip_suffix(']')) {
                if field.trim().is_empty() {
                    return Err(ApiError::bad_request(format!("invalid filter `{k}`")));
                }
                filters.push(Filter {
                    field: field.trim().to_owned(),
                    op: Op::Eq,
                    value: v.clone(),
                });
            }
        }
        Ok(filters)
    }

    /// Whether `actual` (the resource's value of `self.field`) passes. Numbers
    /// compare as decimals; strings and booleans support `=` only.
    pub fn matches(&self, actual: &Value) -> Result<bool, ApiError> {
        match actual {
            Value::Number(_) => {
                let want = Decimal::from_str(self.value.trim()).map_err(|_| {
                    ApiError::bad_request(format!(
                        "filter on {} needs a number, got `{}`",
                        self.field, self.value
                    ))
                })?;
                let have = money::parse(actual).unwrap_or_default();
                Ok(match self.op {
                    Op::Eq => have == want,
                    Op::Gt => have > want,
                    Op::Lt => have < want,
                })
            }
            Value::String(s) => match self.op {
                Op::Eq => Ok(*s == self.value),
                _ => Err(self.op_not_supported()),
            },
            Value::Bool(b) => match self.op {
                Op::Eq => Ok(matches!(
                    (b, self.value.as_str()),
                    (true, "true" | "1") | (false, "false" | "0")
                )),
                _ => Err(self.op_not_supported()),
            },
            _ => Err(ApiError::bad_request(format!(
                "cannot filter on {}",
                self.field
            ))),
        }
    }

    fn op_not_supported(&self) -> ApiError {
        ApiError::bad_request(format!("filter on {} supports only =", self.field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        QueryParams::parse(Some(s))
    }

    #[test]
    fn filter_parses_encoded_operators() {
        let f =
            Filter::all_from(&q("filter=network_offer_id%3D6&filter=time_saved%3E100")).unwrap();
        assert_eq!(f[0].field, "network_offer_id");
        assert_eq!(f[0].op, Op::Eq);
        assert_eq!(f[0].value, "6");
        assert_eq!(f[1].op, Op::Gt);
        let lt: Filter = "time_saved<5".parse().unwrap();
        assert_eq!(lt.op, Op::Lt);
        // The value keeps later operator characters.
        let eq: Filter = "name=a=b".parse().unwrap();
        assert_eq!(eq.value, "a=b");
        assert!("nooperator".parse::<Filter>().is_err());
        assert!("=5".parse::<Filter>().is_err());
        let bracket = Filter::all_from(&q("filter%5Burl_status%5D=paused")).unwrap();
        assert_eq!(bracket[0].field, "url_status");
        assert_eq!(bracket[0].value, "paused");
        assert!(Filter::all_from(&q("filter[]=1")).is_err());
    }

    #[test]
    fn filter_matches_numbers_strings_bools() {
        let f: Filter = "time_saved>100".parse().unwrap();
        assert!(f.matches(&json!(101)).unwrap());
        assert!(!f.matches(&json!(100)).unwrap());
        let f: Filter = "offer_status=active".parse().unwrap();
        assert!(f.matches(&json!("active")).unwrap());
        assert!(!f.matches(&json!("paused")).unwrap());
        let f: Filter = "offer_status>active".parse().unwrap();
        assert!(f.matches(&json!("active")).is_err());
        let f: Filter = "network_offer_id=abc".parse().unwrap();
        assert!(f.matches(&json!(1)).is_err());
        let f: Filter = "is_caps_enabled=false".parse().unwrap();
        assert!(f.matches(&json!(false)).unwrap());
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(
            Paging::from_query(&q("")).unwrap(),
            Paging {
                page: 1,
                page_size: 50
            }
        );
        assert_eq!(
            Paging::from_query(&q("page_size=2000")).unwrap().page_size,
            2000
        );
        assert!(Paging::from_query(&q("page_size=2001")).is_err());
        assert!(Paging::from_query(&q("page_size=0")).is_err());
        assert!(Paging::from_query(&q("page=0")).is_err());
        assert!(Paging::from_query(&q("page=-1")).is_err());
        assert!(Paging::from_query(&q("page=x")).is_err());
        assert_eq!(Paging::from_query_or(&q(""), 2000).unwrap().page_size, 2000);
        assert_eq!(
            Paging::from_query_or(&q("page_size=5"), 2000)
                .unwrap()
                .page_size,
            5
        );
    }

    #[test]
    fn paging_slices_and_reports_total() {
        let p = Paging {
            page: 2,
            page_size: 2,
        };
        let (items, paging) = p.apply(vec![1, 2, 3, 4, 5]);
        assert_eq!(items, vec![3, 4]);
        assert_eq!(paging, json!({"page": 2, "page_size": 2, "total_count": 5}));
        let far = Paging {
            page: 9,
            page_size: 2,
        };
        assert!(far.apply(vec![1, 2, 3]).0.is_empty());
    }

    #[test]
    fn relationships_repeat_and_comma() {
        let r = q("relationship=payout_revenue&relationship=Advertiser,urls").relationships();
        assert_eq!(
            r.into_iter().collect::<Vec<_>>(),
            vec!["advertiser", "payout_revenue", "urls"]
        );
    }
}
