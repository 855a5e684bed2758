//! The standard introspection query — graphql-js's `getIntrospectionQuery()`, as GraphiQL,
//! graphql-codegen, Apollo and the Relay compiler send it — is answered within the limits, with
//! type references nine `ofType` levels deep; deeper introspection is still refused.

use crate::support::TestApp;
use serde_json::json;

/// graphql-js's introspection query with descriptions, type references `levels` deep.
fn introspection_query(levels: usize) -> String {
    let type_ref = (0..levels).fold("kind name".to_owned(), |inner, _| {
        format!("kind name ofType {{ {inner} }}")
    });
    format!(
        "query IntrospectionQuery {{
          __schema {{
            queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
            types {{ ...FullType }}
            directives {{ name description locations args {{ ...InputValue }} }}
          }}
        }}
        fragment FullType on __Type {{
          kind name description
          fields(includeDeprecated: true) {{
            name description args {{ ...InputValue }} type {{ ...TypeRef }}
            isDeprecated deprecationReason
          }}
          inputFields {{ ...InputValue }}
          interfaces {{ ...TypeRef }}
          enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
          possibleTypes {{ ...TypeRef }}
        }}
        fragment InputValue on __InputValue {{
          name description type {{ ...TypeRef }} defaultValue
        }}
        fragment TypeRef on __Type {{ {type_ref} }}"
    )
}

#[tokio::test]
async fn code_generators_get_the_whole_schema() {
    let app = TestApp::spawn().await;
    for levels in [7, 9] {
        let r = app.gql(None, &introspection_query(levels), json!({})).await;
        assert!(r.0["errors"].is_null(), "{levels} levels: {}", r.0);
        let schema = &r.0["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        assert_eq!(schema["subscriptionType"]["name"], "Subscription");
        let types = schema["types"].as_array().expect("types");
        for name in ["Mission", "Pledge", "Won", "Points", "CreateMissionInput"] {
            assert!(
                types.iter().any(|t| t["name"] == name),
                "{name} is missing from the introspected schema"
            );
        }
    }
}

#[tokio::test]
async fn introspection_deeper_than_tools_send_is_refused() {
    let app = TestApp::spawn().await;
    let r = app.gql(None, &introspection_query(10), json!({})).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    assert!(
        r.message().to_lowercase().contains("nested too deep"),
        "{}",
        r.0
    );
}
