// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// A StateSyncer in QML serving wss from a certificate and a key file, and a state with a
// time to live.
Item {
    id: root

    StateSyncer {
        id: secure
        host: "127.0.0.1"
        certificateFile: testCertificate
        keyFile: testKey
        running: true
        StateSyncState {
            identifier: "secret"
            initialValue: ({ over: "tls" })
        }
        StateSyncState {
            id: shortLived
            identifier: "short-lived"
            ttl: 150
        }
    }

    StateSyncClient {
        id: client
        url: secure.url
        clientIdentifier: "alice"
        stateIdentifier: "secret"
        active: secure.listening
    }

    TestCase {
        name: "StateSyncerTls"

        function test_servesWssFromCertificateFiles() {
            verify(String(testCertificate).length > 0, "openssl made no certificate")
            tryCompare(secure, "listening", true)
            compare(secure.errorString, "")
            verify(String(secure.url).startsWith("wss://127.0.0.1:"))
            tryCompare(client, "status", StateSyncClient.Joined)
            compare(client.state.over, "tls")
        }

        function test_ttlRemovesAState() {
            tryCompare(shortLived, "created", false)
            verify(!secure.hasState("short-lived"))
        }

        function test_missingCertificateIsAnError() {
            const component = Qt.createQmlObject(
                "import QStateSync; StateSyncer { host: '127.0.0.1'; running: true;"
                + " certificateFile: 'file:///nonexistent/cert.pem';"
                + " keyFile: 'file:///nonexistent/key.pem' }", root)
            verify(!component.listening)
            verify(component.errorString.length > 0)
            component.destroy()
        }
    }
}
