import SightingKit
import SwiftUI

/// The organisation's published cases near the phone, offline, nearest first; a case page with
/// the safety line and "I may have seen this child", which links the next capture to the case.
/// The rules and words mirror `org.sighting.shell.MissingChildren` (Kotlin, unit-tested on the
/// JVM); keep the two in step. Never "a match": the phone compares nothing.
struct MissingChildrenView: View {
    @EnvironmentObject var model: AppModel
    @State private var list: BulletinList?
    @State private var message: String?
    private let words = MissingChildrenWords()

    var body: some View {
        NavigationView {
            List {
                if let message { Text(verbatim: message).foregroundColor(.red) }
                if let list {
                    Text(verbatim: words.header(list))
                    if !list.cases.isEmpty, let line = words.safetyLine(list) { Text(verbatim: line).bold() }
                    ForEach(list.cases, id: \.caseNumber) { child in
                        NavigationLink {
                            CasePage(child: child, safetyLine: words.safetyLine(list), words: words)
                        } label: {
                            CaseRow(child: child, words: words)
                        }
                    }
                }
                Button("Update the list") { Task { await load(update: true) } }
            }
            .navigationTitle("Missing children")
            .task { await load(update: false) }
        }
    }

    private func load(update: Bool) async {
        let near = await OneShotLocation().here()
        do {
            let client = try await model.client()
            if update { _ = try await client.refreshBulletins(near: near) }
            list = try await client.bulletins(near: near)
            message = nil
        } catch let e as SightingError {
            // A failed update keeps the list held: show it.
            message = Messages.text(e)
            list = try? await model.client().bulletins(near: nil)
        } catch {
            message = String(localized: "Something went wrong inside the app.")
        }
    }
}

private struct CaseRow: View {
    let child: MissingChild
    let words: MissingChildrenWords

    var body: some View {
        HStack {
            VStack(alignment: .leading) {
                Text(verbatim: words.title(child)).bold()
                Text(verbatim: words.details(child))
                if let d = child.distanceM { Text(verbatim: words.distance(d)) }
            }
        }
    }
}

private struct CasePage: View {
    @EnvironmentObject var model: AppModel
    let child: MissingChild
    let safetyLine: String?
    let words: MissingChildrenWords

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 8) {
                if child.photoCount > 0 { CasePhoto(child: child).frame(maxWidth: 240, maxHeight: 240) }
                Text(verbatim: words.title(child)).bold()
                Text(verbatim: words.details(child))
                if !child.marks.isEmpty {
                    Text(verbatim: String(format: String(localized: "Marks: %@"), child.marks))
                }
                if let safetyLine { Text(verbatim: safetyLine).bold() }
                Button("I may have seen this child: take a photo") {
                    model.linkedCase = child.caseNumber
                    model.tab = .capture
                }
            }
            .padding()
        }
    }
}

/// The case's first photo, from the core (the phone's encrypted copy, or fetched now: the list
/// carries no photos).
private struct CasePhoto: View {
    @EnvironmentObject var model: AppModel
    let child: MissingChild
    @State private var image: UIImage?
    @State private var message: String?

    var body: some View {
        Group {
            if let image {
                Image(uiImage: image).resizable().scaledToFit()
                    .accessibilityLabel(Text(verbatim: String(format: String(localized: "Photo of %@ from the organisation"),
                                                              child.firstName)))
            } else if let message {
                Text(verbatim: message).foregroundColor(.red)
            }
        }
        .task(id: child.caseNumber) {
            do {
                let data = try await model.client().casePhoto(caseNumber: child.caseNumber, photo: 0)
                image = UIImage(data: data)
            } catch let e as SightingError {
                message = Messages.text(e)
            } catch {
                message = String(localized: "Something went wrong inside the app.")
            }
        }
    }
}

/// The list's words in both languages, composed from the case's values.
struct MissingChildrenWords {
    var language: Language = .current

    func header(_ list: BulletinList) -> String {
        let say = language.say
        switch list.status {
        case .notFetched:
            return say("No list yet. It comes with the next connection to the organisation.",
                       "还没有名单。下次连接机构时会自动获取。")
        case .expired(_, let expiredAt):
            let day = expiredAt.formatted(date: .numeric, time: .omitted)
            return say("The list expired on \(day) and is hidden until the phone connects again.",
                       "名单已于 \(day) 过期，联网更新前不再显示。")
        case .current(_, _, let expiresAt):
            let day = expiresAt.formatted(date: .numeric, time: .omitted)
            return say("Children the organisation is searching for near you. List valid until \(day).",
                       "机构正在寻找的、您附近的儿童。名单有效期至 \(day)。")
        }
    }

    func safetyLine(_ list: BulletinList) -> String? {
        list.safetyLine.map { language == .zh ? $0.zh : $0.en }
    }

    func title(_ c: MissingChild) -> String {
        language.say("\(c.firstName), \(sex(c.sex))", "\(c.firstName)，\(sex(c.sex))")
    }

    func details(_ c: MissingChild) -> String {
        language.say("\(c.ageWhenMissing) years old when missing on \(c.missingSince); last seen in \(c.lastSeenDistrict)",
                     "\(c.missingSince) 失踪，当时 \(c.ageWhenMissing) 岁；最后出现在\(c.lastSeenDistrict)")
    }

    func distance(_ m: Double) -> String {
        if m < 1000 {
            let rounded = Int(m / 100) * 100 + 100
            return language.say("\(rounded) m away", "\(rounded) 米外")
        }
        let km = String(format: "%.1f", m / 1000)
        return language.say("\(km) km away", "\(km) 公里外")
    }

    private func sex(_ s: Sex) -> String {
        switch s {
        case .boy: return language.say("boy", "男孩")
        case .girl: return language.say("girl", "女孩")
        case .unknown: return language.say("sex not given", "性别未说明")
        }
    }
}
