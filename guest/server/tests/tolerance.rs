//! What real clients send, at the service: Entra's unquoted filter values, attributes the
//! service does not have, Workspace ONE directory users, batches naming members that are gone,
//! long `or` filters on big groups, and names as long as the service accepts.
mod support;

use serde_json::json;
use support::{Client, GROUP, USER, encode, patch};

#[test]
fn unquoted_filter_values_are_read_as_strings_compatibly_and_refused_strictly() {
    let c = Client::new();
    c.create_user_quickly("Oscar");
    c.create_user_quickly("other");
    let (status, list) = c.json(
        "GET",
        &format!("/scim/v2/Users?filter={}", encode("userName sw O")),
        None,
    );
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["totalResults"], 2,
        "sw is case-insensitive on userName"
    );
    let (status, list) = c.json(
        "GET",
        &format!(
            "/scim/v2/Users?filter={}",
            encode(
                "userName eq Oscar and (emails.value co example.com or emails.value co example.org)"
            )
        ),
        None,
    );
    assert_eq!(
        (status, list["totalResults"].as_u64()),
        (200, Some(1)),
        "{list}"
    );
    let (status, list) = c.json(
        "GET",
        &format!(
            "/scim/v2/Users?filter={}",
            encode("meta.created gt 2015-10-10T14:38:21.8617979-07:00")
        ),
        None,
    );
    assert_eq!(
        (status, list["totalResults"].as_u64()),
        (200, Some(2)),
        "{list}"
    );
    let strict = Client::strict(scim_spin::kv::MemoryKv::default());
    let (status, err) = strict.json(
        "GET",
        &format!("/scim/v2/Users?filter={}", encode("userName sw O")),
        None,
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
}

#[test]
fn attributes_the_service_does_not_have_are_dropped_compatibly_and_refused_strictly() {
    let c = Client::new();
    let body = json!({"schemas": [USER], "userName": "mapped", "favoriteColour": "green",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "shoeSize": 44}});
    let (status, created) = c.json("POST", "/scim/v2/Users", Some(body.clone()));
    assert_eq!(status, 201, "{created}");
    assert!(created.get("favoriteColour").is_none());
    let ext = &created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(
        (ext["department"].as_str(), ext.get("shoeSize")),
        (Some("D"), None)
    );
    assert!(
        !support::store_contains(&c.kv, "favoriteColour"),
        "not stored"
    );
    let id = created["id"].as_str().unwrap();
    let (status, _) = c.json("PUT", &format!("/scim/v2/Users/{id}"), Some(body.clone()));
    assert_eq!(status, 200);
    let (status, err) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(patch(
            json!([{"op": "replace", "path": "favoriteColour", "value": "red"}]),
        )),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidPath")),
        "a PATCH path stays strict"
    );

    let strict = Client::strict(scim_spin::kv::MemoryKv::default());
    let (status, err) = strict.json("POST", "/scim/v2/Users", Some(body));
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidPath"))
    );
    assert!(
        !err["detail"].as_str().unwrap().starts_with("operation"),
        "{err}"
    );
}

#[test]
fn a_workspace_one_directory_user_is_created_and_then_read_only() {
    let c = Client::new();
    let body = json!({"schemas": [USER, "urn:scim:schemas:extension:workspace:1.0"], "userName": "dir-user",
        "urn:scim:schemas:extension:workspace:1.0": {
            "internalUserType": "DIRECTORY", "distinguishedName": "CN=Dir User,OU=People,DC=example,DC=com",
            "domain": "example.com", "softDeleted": false, "userPrincipalName": "dir-user@example.com",
            "userStatus": "1", "userStoreUuid": "0f3e3c6e-9a59-4b9c-8a8c-2c1b3c4d5e6f",
            "firstLoginUrl": "https://example.com/first"}});
    let (status, created) = c.json("POST", "/scim/v2/Users", Some(body));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, err) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(patch(
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )),
    );
    assert_eq!(
        (status, err["detail"].as_str()),
        (
            403,
            Some("The user is not a local user and can not be updated")
        )
    );
}

#[test]
fn a_thousand_clause_remove_on_a_big_group_uses_the_member_index() {
    let c = Client::new();
    let ids: Vec<String> = (0..1_200)
        .map(|i| c.create_user_quickly(&format!("member{i}")))
        .collect();
    let g = c.create_group("Big", &[]);
    for batch in ids.chunks(100) {
        let values: Vec<_> = batch.iter().map(|id| json!({"value": id})).collect();
        let r = c.send(
            "PATCH",
            &format!("/scim/v2/Groups/{g}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": values}]),
            )),
            &[],
        );
        assert_eq!(r.status, 204);
    }
    let filter = ids[..1_000]
        .iter()
        .map(|id| format!("value eq \"{id}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(filter.len() > 20_000);
    let r = c.send(
        "PATCH",
        &format!("/scim/v2/Groups/{g}"),
        Some(patch(
            json!([{"op": "remove", "path": format!("members[{filter}]")}]),
        )),
        &[],
    );
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let (_, group) = c.json("GET", &format!("/scim/v2/Groups/{g}"), None);
    assert_eq!(group["members"].as_array().map(Vec::len), Some(200));
    let (_, found) = c.json(
        "GET",
        &format!(
            "/scim/v2/Groups?filter={}&excludedAttributes=members",
            encode(&format!("members[value eq \"{}\"]", ids[1_100]))
        ),
        None,
    );
    assert_eq!(found["totalResults"], 1);
    let (_, none) = c.json(
        "GET",
        &format!(
            "/scim/v2/Groups?filter={}",
            encode(&format!("members.value eq \"{}\"", ids[5]))
        ),
        None,
    );
    assert_eq!(none["totalResults"], 0);
}

#[test]
fn every_name_the_service_accepts_can_be_found_with_eq() {
    let c = Client::new();
    let longest = "n".repeat(4_096);
    c.create_user_quickly(&longest);
    let (status, found) = c.json(
        "GET",
        &format!(
            "/scim/v2/Users?filter={}",
            encode(&format!("userName eq \"{longest}\""))
        ),
        None,
    );
    assert_eq!((status, found["totalResults"].as_u64()), (200, Some(1)));
    let (status, err) = c.json(
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "n".repeat(4_097)})),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    assert!(err["detail"].as_str().unwrap().contains("4096"), "{err}");
    let (status, _) = c.json(
        "POST",
        "/scim/v2/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "g", "externalId": "x".repeat(4_097)})),
    );
    assert_eq!(status, 400);
}

#[test]
fn a_member_given_as_a_bare_id_is_a_member() {
    let c = Client::new();
    let u = c.create_user_quickly("bare");
    let g = c.create_group("Bare", &[]);
    let r = c.send(
        "PATCH",
        &format!("/scim/v2/Groups/{g}"),
        Some(patch(json!([{"op": "add", "path": "members", "value": u}]))),
        &[],
    );
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let (_, group) = c.json("GET", &format!("/scim/v2/Groups/{g}"), None);
    assert_eq!(group["members"][0]["value"], u.as_str());
    assert_eq!(group["members"][0]["display"], "bare");
}

#[test]
fn no_value_outgrows_the_smallest_backend_limit() {
    let c = Client::new();
    let u = c.create_user_quickly("joiner");
    let mut refused = None;
    for i in 0..100 {
        let name = format!("{i:04}{}", "g".repeat(4_000));
        let g = c.create_group(&name, &[]);
        let r = c.send(
            "PATCH",
            &format!("/scim/v2/Groups/{g}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
            )),
            &[],
        );
        if r.status != 204 {
            refused = Some((i, support::parsed(&r)));
            break;
        }
    }
    let (joined, (status, err)) = refused.expect("a member's groups are bounded");
    assert!(joined > 40, "{joined} groups of 4 KB names fit");
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{err}"
    );
    assert!(
        err["detail"].as_str().unwrap().contains("too many groups"),
        "{err}"
    );
    let (status, _) = c.json(
        "POST",
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "huge", "nickName": "n".repeat(300_000)})),
    );
    assert_eq!(status, 413, "a resource is at most 256 KiB");
    let largest = c.kv.snapshot().values().map(Vec::len).max().unwrap_or(0);
    assert!(largest < 300 << 10, "the largest value is {largest} bytes");
    let (_, user) = c.json("GET", &format!("/scim/v2/Users/{u}"), None);
    assert_eq!(user["groups"].as_array().map(Vec::len), Some(joined));
}
