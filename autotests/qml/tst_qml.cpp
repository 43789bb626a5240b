// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "redisserver.h"
#include "testsupport.h"

#include <QtNetwork/qsslconfiguration.h>
#include <QtQml/qqmlcontext.h>
#include <QtQml/qqmlengine.h>
#include <QtQuickTest/quicktest.h>

// Gives the QML tests a self-signed certificate for 127.0.0.1 and makes this process
// trust it, so a StateSyncer in QML can serve wss to a StateSyncClient; and a Redis server
// of their own (testRedisPort), for StateSyncers that share their states.
class Setup : public QObject
{
    Q_OBJECT

public Q_SLOTS:
    void qmlEngineAvailable(QQmlEngine *engine)
    {
        const TestSupport::Certificate certificate
                = TestSupport::makeSelfSignedCertificate(m_directory);
        const bool made = certificate.error.isEmpty();
        if (made)
            QSslConfiguration::setDefaultConfiguration(certificate.trustingClientConfiguration);
        else
            qWarning("%s", qPrintable(certificate.error));
        engine->rootContext()->setContextProperty(
                QStringLiteral("testCertificate"),
                made ? QUrl::fromLocalFile(certificate.certificateFile) : QUrl());
        engine->rootContext()->setContextProperty(QStringLiteral("testDataFolder"),
                                                  m_directory.path());
        if (!m_redis.start())
            qWarning("no Redis server for the cluster tests");
        engine->rootContext()->setContextProperty(QStringLiteral("testRedisPort"),
                                                  int(m_redis.port()));
        engine->rootContext()->setContextProperty(QStringLiteral("testKey"),
                                                  made ? QUrl::fromLocalFile(certificate.keyFile)
                                                       : QUrl());
    }

private:
    QTemporaryDir m_directory;
    TestSupport::RedisServer m_redis;
};

QUICK_TEST_MAIN_WITH_SETUP(qstatesync, Setup)

#include "tst_qml.moc"
