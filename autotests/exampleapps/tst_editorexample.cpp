// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The editor example (examples/editor) as its users run it: offscreen, against a server
// on 127.0.0.1, driven by its --autoplay steps; the test edits the document too.

#include "exampleapp.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

namespace {
const QString Document = QStringLiteral("document");

QJsonObject documentOf(const QStateSyncer &server)
{
    return server.valueOfState(Document).value_or(QJsonObject());
}

QJsonObject checklistOf(const QStateSyncer &server)
{
    return documentOf(server).value(QStringLiteral("checklist")).toObject();
}

QString editingOf(const QStateSyncClient &client, const QString &clientIdentifier)
{
    return presenceDataOf(client, clientIdentifier).value(QStringLiteral("editing")).toString();
}
} // namespace

class tst_EditorExample : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void editsEachPartWithItsOwnPatch();
    void servesTheDocument();
};

void tst_EditorExample::editsEachPartWithItsOwnPatch()
{
    // An empty state, as qstatesyncd --state makes: the editor creates the keys it needs.
    auto server = startServer();
    QVERIFY(!createState(*server, Document).isNull());
    QList<QJsonObject> patches;
    connect(server.get(), &QStateSyncer::stateUpdated, this,
            [&](const QString &, const QJsonObject &updates) { patches.append(updates); });
    auto tester = joinedClient(*server, QStringLiteral("tester"), Document);
    QStringList partsEdited;
    connect(tester.get(), &QStateSyncClient::peerChanged, this, [&](const QVariantMap &peer) {
        const QString part = peer.value("presenceData").toMap().value("editing").toString();
        if (peer.value("clientIdentifier").toString() == QLatin1String("app-user")
            && !part.isEmpty() && !partsEdited.contains(part)) {
            partsEdited.append(part);
        }
    });

    ExampleApp app(QStringLiteral(EDITOR_EXAMPLE_PATH),
                   {"--url", urlOf(*server).toString(), "--name", "app-user", "--autoplay",
                    "title:Plan", "--autoplay", "add:First item", "--autoplay",
                    "wait:from the test", "--autoplay", "toggle:Item from the test", "--autoplay",
                    "body:Done."});
    QTRY_COMPARE_WITH_TIMEOUT(documentOf(*server).value("title").toString(), QStringLiteral("Plan"),
                              Timeout);
    // Items are keyed by id: an added item is a one-key patch of the checklist.
    QTRY_COMPARE_WITH_TIMEOUT(checklistOf(*server).size(), 1, Timeout);
    const QString firstId = checklistOf(*server).keys().constFirst();
    const QJsonObject first = checklistOf(*server).value(firstId).toObject();
    QCOMPARE(first.value("text").toString(), QStringLiteral("First item"));
    QCOMPARE(first.value("done").toBool(true), false);
    QVERIFY(first.value("position").isDouble());

    // The app goes on once it received the tester's item, and toggles just that item.
    QSignalSpy acknowledged(tester.get(), &QStateSyncClient::updateAcknowledged);
    tester->setValueAt(
            {"checklist", "t1"},
            QVariantMap{{"text", "Item from the test"}, {"done", false}, {"position", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_VERIFY_WITH_TIMEOUT(checklistOf(*server).value("t1").toObject().value("done").toBool(),
                             Timeout);
    const QJsonObject toggle{{"checklist", QJsonObject{{"t1", QJsonObject{{"done", true}}}}}};
    QVERIFY2(patches.contains(toggle), qPrintable(compact(toggle)));
    QCOMPARE(checklistOf(*server).value(firstId).toObject().value("done").toBool(true), false);

    QTRY_COMPARE_WITH_TIMEOUT(documentOf(*server).value("body").toString(), QStringLiteral("Done."),
                              Timeout);
    // Presence said which part the app was editing, the body last.
    QTRY_COMPARE_WITH_TIMEOUT(editingOf(*tester, "app-user"), QStringLiteral("body"), Timeout);
    QVERIFY2(partsEdited.contains("title") && partsEdited.contains("checklist"),
             qPrintable(partsEdited.join(',')));
}

void tst_EditorExample::servesTheDocument()
{
    ExampleApp app(QStringLiteral(EDITOR_EXAMPLE_PATH),
                   {"--serve", "--url", "ws://127.0.0.1:0", "--name", "host", "--autoplay",
                    "wait:Second", "--autoplay", "toggle:First", "--autoplay", "remove:Second"});
    const QUrl url = app.waitForServingUrl();
    QVERIFY2(url.isValid(), qPrintable(app.output));

    QStateSyncClient alice(url, QStringLiteral("alice"));
    QStateSyncClient bob(url, QStringLiteral("bob"));
    QSignalSpy aliceJoined(&alice, &QStateSyncClient::joined);
    QSignalSpy bobJoined(&bob, &QStateSyncClient::joined);
    alice.connectToState(Document);
    bob.connectToState(Document);
    QVERIFY(aliceJoined.wait(Timeout));
    QVERIFY(bobJoined.count() == 1 || bobJoined.wait(Timeout));
    QCOMPARE(alice.value().value("title").toString(), QString());
    QCOMPARE(alice.value().value("body").toString(), QString());
    QCOMPARE(alice.value().value("checklist").toMap(), QVariantMap());

    // Two people add an item each at the same moment: both are kept.
    alice.setValueAt({"checklist", "a"},
                     QVariantMap{{"text", "First"}, {"done", false}, {"position", 1}});
    bob.setValueAt({"checklist", "b"},
                   QVariantMap{{"text", "Second"}, {"done", false}, {"position", 2}});
    QTRY_COMPARE_WITH_TIMEOUT(alice.value().value("checklist").toMap().size(), 2, Timeout);
    // The app toggles one and removes the other: neither overwrites the other's change.
    QTRY_COMPARE_WITH_TIMEOUT(alice.value().value("checklist").toMap().keys(), QStringList{"a"},
                              Timeout);
    QVERIFY(alice.value().value("checklist").toMap().value("a").toMap().value("done").toBool());

    // A toggle of an item removed meanwhile does not bring back a fragment of it.
    QSignalSpy acknowledged(&bob, &QStateSyncClient::updateAcknowledged);
    bob.setValueAt({"checklist", "b", "done"}, true);
    QVERIFY(acknowledged.wait(Timeout));
    QVERIFY(!bob.value().value("checklist").toMap().contains("b"));
    QCOMPARE(bob.value().value("checklist").toMap().size(), 1);
}

QTEST_GUILESS_MAIN(tst_EditorExample)
#include "tst_editorexample.moc"
