//! The publication gate after publishing (issue 27, finding 7): an edit of a published case is
//! held to the gate again, every missing item named, and contact details or an address in a
//! published field are refused; private notes stay free. On a real SQLite file.

use sighting_core::wire::bulletin::Sex;
use sighting_desk::state::contact::{find_contact, Contact};
use sighting_desk::state::{CaseDetails, CaseRow, DeskState, Publication, Role};

const PASSWORD: &str = "correct horse battery";

fn vetted() -> CaseDetails {
    CaseDetails {
        first_name: "Ana".into(),
        sex: Sex::Girl,
        date_of_birth: None,
        age_when_missing: 9,
        missing_since: "2026-06-01".into(),
        last_seen_district: "Centrum".into(),
        last_seen_lat: 52.37,
        last_seen_lon: 4.90,
        marks: "limps on the right leg".into(),
        police_reference: Some("2026-AMS-77".into()),
        private_notes: None,
    }
}

/// A desk with case `C-1` published, and its case manager.
fn published() -> (tempfile::TempDir, DeskState, sighting_desk::state::Reviewer) {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let c = desk.create_case(&cm, "C-1", &vetted()).unwrap();
    let c = desk.record_family_consent(&cm, "C-1", c.version).unwrap();
    let c = desk
        .add_case_photo(&cm, "C-1", c.version, &[0xFF, 0xD8, 0xFF, 0xD9])
        .unwrap();
    desk.publish_case(&cm, "C-1", c.version).unwrap();
    (dir, desk, cm)
}

#[test]
fn an_edit_of_a_published_case_is_held_to_the_gate_again() {
    let (_dir, desk, cm) = published();
    let before = desk.case("C-1").unwrap();
    assert_eq!(before.publication, Publication::Published);

    // The finding: the police reference removed and a family phone number put in the marks.
    let mut walked = vetted();
    walked.police_reference = None;
    walked.marks = "family phone +31 6 12345678".into();
    let refused = desk
        .edit_case(&cm, "C-1", before.version, &walked)
        .expect_err("an edit that walks around the gate");
    let words = refused.to_string();
    assert!(words.contains("police report's reference"), "{words}");

    let mut no_reference = vetted();
    no_reference.police_reference = Some("  ".into());
    let words = desk
        .edit_case(&cm, "C-1", before.version, &no_reference)
        .unwrap_err()
        .to_string();
    assert!(
        words.contains("published") && words.contains("police report's reference"),
        "{words}"
    );

    for (marks, what) in [
        ("family phone +31 6 12345678", "phone number"),
        ("妈妈电话 138 0013 8000", "phone number"),
        ("write to mum@example.org", "e-mail address"),
        ("lives at 建国路88号", "address"),
    ] {
        let mut contact = vetted();
        contact.marks = marks.into();
        let words = desk
            .edit_case(&cm, "C-1", before.version, &contact)
            .unwrap_err()
            .to_string();
        assert!(words.contains("marks") && words.contains(what), "{words}");
    }
    let mut district = vetted();
    district.last_seen_district = "Damstraat 12, Centrum".into();
    let words = desk
        .edit_case(&cm, "C-1", before.version, &district)
        .unwrap_err()
        .to_string();
    assert!(words.contains("last_seen_district"), "{words}");

    // Nothing of the refused edits was kept or logged; the case is as it was, still published.
    assert_eq!(desk.case("C-1").unwrap(), before);
    let edits = desk
        .audit(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "case_edited")
        .count();
    assert_eq!(edits, 0);

    // An ordinary edit goes through and stays published; a phone number in the private notes
    // (never published) is the case manager's to keep.
    let mut ordinary = vetted();
    ordinary.marks = "scar on left arm, 3 cm".into();
    ordinary.private_notes = Some("mother +86 139 1234 5678".into());
    let edited: CaseRow = desk
        .edit_case(&cm, "C-1", before.version, &ordinary)
        .unwrap();
    assert_eq!(edited.publication, Publication::Published);
    assert_eq!(edited.details.marks, "scar on left arm, 3 cm");
    assert!(edited.published_fields.contains(&"marks"));
    assert!(!edited.published_fields.contains(&"private_notes"));
    assert!(!edited.published_fields.contains(&"police_reference"));
}

#[test]
fn publishing_names_every_missing_item_and_refuses_contact_details() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let mut bare = vetted();
    bare.police_reference = None;
    let c = desk.create_case(&cm, "C-2", &bare).unwrap();
    assert!(c.published_fields.is_empty(), "a draft publishes nothing");
    let words = desk.publish_case(&cm, "C-2", c.version).unwrap_err();
    let words = words.to_string();
    for item in ["police report's reference", "family's consent", "a photo"] {
        assert!(words.contains(item), "{item}: {words}");
    }

    // A vetted draft with an e-mail address in the marks is not published either.
    let mut contact = vetted();
    contact.marks = "limps; xiaoming＠163.com".into();
    let c = desk.edit_case(&cm, "C-2", c.version, &contact).unwrap();
    let c = desk.record_family_consent(&cm, "C-2", c.version).unwrap();
    let c = desk
        .add_case_photo(&cm, "C-2", c.version, &[0xFF, 0xD8, 0xFF, 0xD9])
        .unwrap();
    let words = desk.publish_case(&cm, "C-2", c.version).unwrap_err();
    assert!(words.to_string().contains("e-mail address"), "{words}");
    assert_eq!(desk.case("C-2").unwrap().publication, Publication::Draft);
}

#[test]
fn the_contact_detector_finds_phones_mails_and_addresses_and_not_descriptions() {
    let phones = [
        "family phone +31 6 12345678",
        "电话13800138000",
        "手机：138 0013 8000",
        "+86 138-0013-8000",
        "(010) 8888 8888",
        "０１０－１２３４５６７８",
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "call 555 1234",
        "tel. 030/1234567",
    ];
    for text in phones {
        assert_eq!(find_contact(text), Some(Contact::Phone), "{text}");
    }
    let mails = [
        "mum@example.org",
        "a.b+c@mail.example.cn",
        "xiaoming＠163.com",
        "write to ana @ gmail.com",
    ];
    for text in mails {
        assert_eq!(find_contact(text), Some(Contact::Email), "{text}");
    }
    let addresses = [
        "建国路88号",
        "朝阳区望京西园3号楼2单元1201室",
        "住在幸福小区",
        "12 Main Street",
        "221B Baker St",
        "Damstraat 12",
        "apt 4B",
        "5 rue de Rivoli",
        "Hauptstraße 7",
    ];
    for text in addresses {
        assert_eq!(find_contact(text), Some(Contact::Address), "{text}");
    }
    let descriptions = [
        "scar on left arm, 3 cm",
        "左臂有3厘米长的疤痕",
        "missing since 2026-03-01, last seen 2026.03.02 or 2026/03/03",
        "wears glasses; 1.20 m tall, 25 kg",
        "朝阳区 Chaoyang",
        "Centrum",
        "limps on the right leg",
        "birthmark behind the right ear, about 2 cm wide",
        "shoe size 32, blue school uniform No. 7",
        "穿红色外套，身高120厘米，右耳后有胎记",
        "District 9",
        "born 2019, speaks Mandarin and some English",
        "missing tooth (upper left)",
        "",
    ];
    for text in descriptions {
        assert_eq!(find_contact(text), None, "{text}");
    }
}
