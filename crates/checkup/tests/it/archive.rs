//! Archives, folders and the import report: namespaces, counts, malformed members,
//! rejected documents and unknown codes.

use super::fixtures::{Doc, NS_2007, NS_2024, archive_of, cd, index_xml, pq, zip_with};
use collabo_checkup::{CheckupReader, Format, ReadError};
use collabo_domain::checkup::Item;
use std::io::Write;

fn docs(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            Doc::default()
                .with(pq("9N011000000000001", &format!("2{i}.5"), "kg/m2"))
                .xml()
        })
        .collect()
}

#[test]
fn both_index_namespaces_are_read_without_warnings() {
    for namespace in [NS_2024, NS_2007] {
        let dir = tempfile::tempdir().unwrap();
        let path = archive_of(dir.path(), namespace, &docs(3));
        let mut reader = CheckupReader::open(&path).unwrap();
        assert_eq!(reader.format(), Format::Archive);
        let records: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[2].value(Item::Bmi).and_then(|v| v.number()),
            Some(22.5)
        );
        assert!(
            records[0]
                .origin
                .member
                .as_deref()
                .unwrap()
                .ends_with("DATA/h66311111162024070101000001.xml")
        );
        let report = reader.into_report();
        assert_eq!(report.warnings, Vec::<String>::new(), "{namespace}");
        assert_eq!(
            (report.documents, report.records, report.observations),
            (3, 3, 3)
        );
    }
}

#[test]
fn an_unexpected_namespace_or_count_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let base = "x";
    let doc = Doc::default().xml();
    let path = zip_with(
        dir.path(),
        "odd.zip",
        &[
            (
                format!("{base}/ix08_V08.xml"),
                index_xml("urn:example:other", 5).into_bytes(),
            ),
            (format!("{base}/DATA/h1.xml"), doc.into_bytes()),
        ],
    );
    let mut reader = CheckupReader::open(&path).unwrap();
    assert_eq!(reader.by_ref().filter(Result::is_ok).count(), 1);
    let warnings = reader.into_report().warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("namespace")));
    assert!(warnings.iter().any(|w| w.contains("totalRecordCount 5")));
}

#[test]
fn a_malformed_member_is_one_fatal_error_naming_member_line_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = Doc::default()
        .with(pq("9N001000000000001", "170", "cm"))
        .xml();
    bad = bad.replace("</section>", "</sectio>");
    let broken_line = bad.lines().position(|l| l.contains("</sectio>")).unwrap() as u64 + 1;
    let all = vec![Doc::default().xml(), bad, Doc::default().xml()];
    let path = archive_of(dir.path(), NS_2024, &all);
    let results: Vec<_> = CheckupReader::open(&path).unwrap().collect();
    assert_eq!(results.len(), 2, "reading stops at the fatal error");
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(err.is_fatal());
    match err {
        ReadError::Malformed { origin, expected } => {
            assert!(
                origin
                    .member
                    .as_deref()
                    .unwrap()
                    .ends_with("DATA/h66311111162024070101000002.xml")
            );
            assert_eq!(origin.line, Some(broken_line));
            assert!(expected.contains("section"), "{expected}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("000002.xml") && message.contains(&format!("line {broken_line}")),
        "{message}"
    );
}

#[test]
fn a_truncated_document_is_malformed_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let full = Doc::default().xml();
    let cut = full[..full.find("<component>").unwrap()].to_owned();
    let path = archive_of(dir.path(), NS_2024, std::slice::from_ref(&cut));
    let err = CheckupReader::open(&path)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    let ReadError::Malformed { origin, .. } = &err else {
        panic!("{err:?}")
    };
    // The cut ends inside the last (indentation-only) line.
    assert_eq!(origin.line, Some(cut.lines().count() as u64));
    assert!(err.to_string().contains("ends early"), "{err}");
}

#[test]
fn a_non_utf8_member_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let xml = Doc::default().xml();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&xml);
    let path = zip_with(
        dir.path(),
        "a.zip",
        &[("a/DATA/h1.xml".to_owned(), sjis.into_owned())],
    );
    let err = CheckupReader::open(&path)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn a_rejected_document_does_not_stop_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let no_number = Doc {
        ids: vec![
            ("1.2.392.200119.6.101", "06139999"),
            ("1.2.392.200119.6.204", "1001"),
        ],
        ..Doc::default()
    }
    .xml();
    let path = archive_of(dir.path(), NS_2024, &[no_number, Doc::default().xml()]);
    let mut reader = CheckupReader::open(&path).unwrap();
    let results: Vec<_> = reader.by_ref().collect();
    assert_eq!(results.len(), 2);
    let err = results[0].as_ref().unwrap_err();
    assert!(!err.is_fatal());
    assert!(err.to_string().contains("1.2.392.200119.6.205"), "{err}");
    assert!(results[1].is_ok());
    let report = reader.into_report();
    assert_eq!(
        (report.documents, report.records, report.rejected),
        (2, 1, 1)
    );
}

#[test]
fn unknown_codes_are_kept_and_counted_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let doc = Doc::default()
        .with(pq("9Z999000000000001", "12", "mg/dL"))
        .with(cd("9N501000000000011", "1", "1.2.392.200119.6.1008"))
        .xml();
    let path = archive_of(dir.path(), NS_2024, &[doc.clone(), doc]);
    let mut reader = CheckupReader::open(&path).unwrap();
    let first = reader.next().unwrap().unwrap();
    let unknown = first
        .unknown_items
        .iter()
        .find(|u| u.code == "9Z999000000000001")
        .unwrap();
    assert_eq!(unknown.table_name, None);
    assert_eq!(unknown.raw_value, "12 mg/dL");
    assert!(reader.by_ref().all(|r| r.is_ok()));
    let report = reader.into_report();
    assert_eq!(report.unknown_codes.get("9Z999000000000001"), Some(&2));
    assert_eq!(report.unused_codes.get("9N501000000000011"), Some(&2));
    assert_eq!(report.unknown_codes.len(), 1);
}

#[test]
fn an_unpacked_folder_and_a_single_file_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("6631111116_06139999_202407010_1");
    std::fs::create_dir_all(top.join("DATA")).unwrap();
    std::fs::write(top.join("ix08_V08.xml"), index_xml(NS_2007, 2)).unwrap();
    for i in 1..=2 {
        let doc = Doc::default()
            .with(pq("9N006000000000001", &format!("6{i}"), "kg"))
            .xml();
        std::fs::write(top.join("DATA").join(format!("h{i}.xml")), doc).unwrap();
    }
    std::fs::write(top.join("DATA").join("c1.xml"), "not read").unwrap();
    // The parent folder, the archive folder and DATA itself all work.
    for path in [dir.path().to_owned(), top.clone(), top.join("DATA")] {
        let mut reader = CheckupReader::open(&path).unwrap();
        assert_eq!(reader.format(), Format::Folder);
        let weights: Vec<f64> = reader
            .by_ref()
            .map(|r| r.unwrap().value(Item::Weight).unwrap().number().unwrap())
            .collect();
        assert_eq!(weights, vec![61.0, 62.0], "{}", path.display());
    }
    let single = top.join("DATA").join("h2.xml");
    let renamed = dir.path().join("checkup.dat");
    std::fs::copy(&single, &renamed).unwrap();
    let reader = CheckupReader::open(&renamed).unwrap();
    assert_eq!(reader.format(), Format::Xml, "detected by content");
    assert_eq!(reader.count(), 1);
}

/// A document padded with a comment to more than the document cap.
fn oversized_document() -> Vec<u8> {
    let doc = Doc::default().xml();
    let at = doc.find("<ClinicalDocument").unwrap();
    let pad = "x".repeat(collabo_checkup::MAX_DOCUMENT_BYTES as usize + 1);
    format!("{}<!--{pad}-->{}", &doc[..at], &doc[at..]).into_bytes()
}

#[test]
fn a_single_xml_file_or_a_folder_document_beyond_the_cap_is_refused_unread() {
    // Issue 11: a 100 MiB single h*.xml was read whole (118 MiB peak).
    let dir = tempfile::tempdir().unwrap();
    let big = oversized_document();
    let single = dir.path().join("h0001.xml");
    std::fs::write(&single, &big).unwrap();
    let mut reader = CheckupReader::open(&single).unwrap();
    let err = reader.next().unwrap().unwrap_err();
    assert!(err.is_fatal());
    assert!(err.to_string().contains("at most 8388608 bytes"), "{err}");
    assert!(reader.next().is_none());
    let top = dir.path().join("folder");
    std::fs::create_dir_all(top.join("DATA")).unwrap();
    std::fs::write(top.join("DATA").join("h1.xml"), Doc::default().xml()).unwrap();
    std::fs::write(top.join("DATA").join("h2.xml"), &big).unwrap();
    let results: Vec<_> = CheckupReader::open(&top).unwrap().collect();
    assert_eq!(results.len(), 2, "the first document, then the refusal");
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        err.to_string().contains("h2.xml") && err.to_string().contains("at most"),
        "{err}"
    );
    // The same document just under the cap is read.
    let fits = Doc::default().xml().into_bytes();
    std::fs::write(&single, fits).unwrap();
    assert!(
        CheckupReader::open(&single)
            .unwrap()
            .next()
            .unwrap()
            .is_ok()
    );
}

#[test]
fn a_file_that_is_not_a_zip_is_a_zip_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.zip");
    std::fs::write(&path, b"not a zip at all").unwrap();
    let err = CheckupReader::open(&path).err().unwrap();
    assert!(matches!(err, ReadError::Zip { .. }), "{err:?}");
    assert!(err.to_string().contains("broken.zip"));

    // A zip signature followed by garbage fails on the first member, fatally.
    std::fs::write(&path, b"PK\x03\x04 not really").unwrap();
    let mut reader = CheckupReader::open(&path).unwrap();
    let err = reader.next().unwrap().unwrap_err();
    assert!(
        err.is_fatal() && err.to_string().contains("broken.zip"),
        "{err}"
    );
    assert!(reader.next().is_none());
}

#[test]
fn an_archive_with_data_descriptors_is_read_through_its_central_directory() {
    // Java's ZipOutputStream (used by ORCA) writes no sizes in local headers.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("streamed.zip");
    let base = "6631111116_06139999_202407010_1";
    let mut zip = zip::ZipWriter::new_stream(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let docs = docs(4);
    zip.start_file(format!("{base}/ix08_V08.xml"), options)
        .unwrap();
    zip.write_all(index_xml(NS_2024, docs.len()).as_bytes())
        .unwrap();
    for (i, doc) in docs.iter().enumerate() {
        zip.start_file(format!("{base}/DATA/h{i}.xml"), options)
            .unwrap();
        zip.write_all(doc.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    assert_ne!(flags & 0x08, 0, "the fixture uses data descriptors");

    let mut reader = CheckupReader::open(&path).unwrap();
    let bmis: Vec<f64> = reader
        .by_ref()
        .map(|r| r.unwrap().value(Item::Bmi).unwrap().number().unwrap())
        .collect();
    assert_eq!(bmis, vec![20.5, 21.5, 22.5, 23.5]);
    assert_eq!(reader.into_report().warnings, Vec::<String>::new());
}

#[test]
fn a_data_descriptor_in_the_middle_switches_to_the_central_directory_without_losing_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = archive_of(dir.path(), NS_2024, &docs(4));
    let mut bytes = std::fs::read(&path).unwrap();
    // Mark the fourth member (the second DATA document, after one was yielded) as using a
    // data descriptor, as a Java writer would: its local header then carries no usable sizes.
    let headers: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x03\x04")
        .map(|(i, _)| i)
        .collect();
    let third = headers[3];
    bytes[third + 6] |= 0x08;
    std::fs::write(&path, &bytes).unwrap();
    // The streaming zip reader really cannot go past it.
    let mut stream = std::io::Cursor::new(&bytes);
    for _ in 0..3 {
        assert!(
            zip::read::read_zipfile_from_stream(&mut stream)
                .unwrap()
                .is_some()
        );
    }
    assert!(zip::read::read_zipfile_from_stream(&mut stream).is_err());

    let mut reader = CheckupReader::open(&path).unwrap();
    let bmis: Vec<f64> = reader
        .by_ref()
        .map(|r| r.unwrap().value(Item::Bmi).unwrap().number().unwrap())
        .collect();
    assert_eq!(bmis, vec![20.5, 21.5, 22.5, 23.5]);
    assert_eq!(reader.into_report().warnings, Vec::<String>::new());
}
