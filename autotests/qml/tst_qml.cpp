// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include <QtCore/qprocess.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qsslconfiguration.h>
#include <QtQml/qqmlcontext.h>
#include <QtQml/qqmlengine.h>
#include <QtQuickTest/quicktest.h>

// Gives the QML tests a self-signed certificate for 127.0.0.1, made with openssl, and
// makes this process trust it, so a StateSyncer in QML can serve wss to a StateSyncClient.
class Setup : public QObject
{
    Q_OBJECT

public Q_SLOTS:
    void qmlEngineAvailable(QQmlEngine *engine)
    {
        const QString certificate = m_directory.filePath(QStringLiteral("cert.pem"));
        const QString key = m_directory.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                       QStringLiteral("rsa:2048"), QStringLiteral("-nodes"),
                       QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                       QStringLiteral("/CN=127.0.0.1"), QStringLiteral("-addext"),
                       QStringLiteral("subjectAltName=IP:127.0.0.1"), QStringLiteral("-keyout"),
                       key, QStringLiteral("-out"), certificate});
        const bool made = openssl.waitForFinished(60000) && openssl.exitCode() == 0;
        if (made) {
            QSslConfiguration trusting = QSslConfiguration::defaultConfiguration();
            trusting.addCaCertificates(certificate);
            QSslConfiguration::setDefaultConfiguration(trusting);
        }
        engine->rootContext()->setContextProperty(QStringLiteral("testCertificate"),
                                                  made ? QUrl::fromLocalFile(certificate) : QUrl());
        engine->rootContext()->setContextProperty(QStringLiteral("testKey"),
                                                  made ? QUrl::fromLocalFile(key) : QUrl());
    }

private:
    QTemporaryDir m_directory;
};

QUICK_TEST_MAIN_WITH_SETUP(qstatesync, Setup)

#include "tst_qml.moc"
