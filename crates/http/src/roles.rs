//! What a caller's role lets them see and do (issue 19 item 2): admins
//! everything, auditors everything read-only, domain admins the users,
//! aliases and groups of their own domains — anything else does not exist
//! for them (404, the same answer as for a name that is truly absent).

use crate::problem::ApiError;
use postern_directory::admin_access::Role;

/// An authenticated caller and their role.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub role: Role,
}

impl Caller {
    /// True when `domain`'s objects are visible to this caller.
    pub fn sees_domain(&self, domain: &str) -> bool {
        match &self.role {
            Role::Admin | Role::Auditor => true,
            Role::DomainAdmin(list) => list.iter().any(|d| d.eq_ignore_ascii_case(domain)),
        }
    }

    /// True when the object at `address` (`local@domain` or `@domain`) is visible.
    pub fn sees_address(&self, address: &str) -> bool {
        address
            .rsplit_once('@')
            .is_some_and(|(_, domain)| self.sees_domain(domain))
    }

    /// 404 for an address outside the caller's domains (never 403: a
    /// domain admin learns nothing about other domains).
    pub fn require_address(&self, address: &str) -> Result<(), ApiError> {
        if self.sees_address(address) {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("{address} does not exist")))
        }
    }

    /// Admins and auditors: server-wide facts (the queue), not for domain admins.
    pub fn require_server_wide(&self) -> Result<(), ApiError> {
        match self.role {
            Role::DomainAdmin(_) => Err(ApiError::Forbidden(
                "a domain admin may not see the whole server".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Only full admins: server-wide changes (domains, roles).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden("only an admin may do this".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_admin_sees_only_their_domains() {
        let c = Caller {
            user: "d@a.test".into(),
            role: Role::DomainAdmin(vec!["a.test".into()]),
        };
        assert!(c.sees_address("x@A.test"));
        assert!(c.sees_address("@a.test"));
        assert!(!c.sees_address("x@b.test"));
        assert!(!c.sees_address("x@sub.a.test"));
        assert!(matches!(
            c.require_address("x@b.test"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(c.require_admin(), Err(ApiError::Forbidden(_))));
    }
}
