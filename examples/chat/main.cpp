// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qdir.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtextstream.h>
#include <QtGui/qguiapplication.h>
#include <QtQml/qqmlapplicationengine.h>
#include <QtQml/qqmlcomponent.h>
#include <QtQuickControls2/qquickstyle.h>

#include <memory>

int main(int argc, char *argv[])
{
    QGuiApplication app(argc, argv);
    app.setApplicationName(QStringLiteral("statesync-chat"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
            QStringLiteral("A chat window on a shared QStateSync state: messages are appended to\n"
                           "chatMessages, the people online and who is typing come from presence.\n"
                           "Serve the room yourself with --serve, or join any QStateSync server."));
    parser.addHelpOption();
    const QCommandLineOption url(QStringLiteral("url"),
                                 QStringLiteral("Server URL (default ws://127.0.0.1:5000); with "
                                                "--serve, where to listen (port 0: any)."),
                                 QStringLiteral("URL"), QStringLiteral("ws://127.0.0.1:5000"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Your client identifier (default: a random "
                                                 "guest name)."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption room(QStringLiteral("state"),
                                  QStringLiteral("The state to join (default myGroupChat)."),
                                  QStringLiteral("ID"), QStringLiteral("myGroupChat"));
    const QCommandLineOption token(QStringLiteral("token"),
                                   QStringLiteral("Access token, for servers that ask for one."),
                                   QStringLiteral("TOKEN"));
    const QCommandLineOption serve(QStringLiteral("serve"),
                                   QStringLiteral("Also serve the room from this process, at "
                                                  "the --url's address."));
    const QCommandLineOption autoplay(
            QStringLiteral("autoplay"),
            QStringLiteral("A demo step, repeatable, played in order: say:TEXT (type and send), "
                           "type:TEXT (type a draft), wait:N (until the chat holds N "
                           "messages)."),
            QStringLiteral("STEP"));
    const QCommandLineOption screenshot(
            QStringLiteral("screenshot"),
            QStringLiteral("When the autoplay steps of this window and of everyone else in "
                           "the room are played, save the window to FILE and quit."),
            QStringLiteral("FILE"));
    parser.addOptions({url, name, room, token, serve, autoplay, screenshot});
    parser.process(app);

    // A desktop style unless the user chose one.
    if (qEnvironmentVariableIsEmpty("QT_QUICK_CONTROLS_STYLE"))
        QQuickStyle::setStyle(QStringLiteral("Fusion"));

    QQmlApplicationEngine engine;
    // A QStateSync that is not installed in Qt's own QML directory is found here.
    engine.addImportPath(QStringLiteral(QSTATESYNC_QML_IMPORT_DIR));
    QObject::connect(&engine, &QQmlEngine::exit, &app, &QCoreApplication::exit,
                     Qt::QueuedConnection);

    QUrl serverUrl(parser.value(url));
    const QString stateIdentifier = parser.value(room);
    // Declared after the engine, so it goes away first.
    std::unique_ptr<QObject> server;
    if (parser.isSet(serve)) {
        QQmlComponent component(&engine,
                                QUrl(QStringLiteral("qrc:/qt/qml/ChatExample/Server.qml")));
        server.reset(component.createWithInitialProperties(
                {{QStringLiteral("host"), serverUrl.host()},
                 {QStringLiteral("port"), serverUrl.port(5000)},
                 {QStringLiteral("room"), stateIdentifier}}));
        if (!server || !server->property("listening").toBool()) {
            QTextStream(stderr) << "cannot serve on " << serverUrl.toString() << ": "
                                << (server ? server->property("errorString").toString()
                                           : component.errorString())
                                << Qt::endl;
            return 1;
        }
        // With port 0 the server picked one: the window and any script need the real URL.
        serverUrl = server->property("url").toUrl();
        QTextStream(stdout) << "serving " << stateIdentifier << " on " << serverUrl.toString()
                            << Qt::endl;
    }

    const QString clientIdentifier = parser.isSet(name)
            ? parser.value(name)
            : QStringLiteral("guest-%1").arg(QRandomGenerator::global()->bounded(1000, 10000));
    const QString screenshotFile = parser.isSet(screenshot)
            ? QDir::current().absoluteFilePath(parser.value(screenshot))
            : QString();
    engine.setInitialProperties({{QStringLiteral("serverUrl"), serverUrl},
                                 {QStringLiteral("clientIdentifier"), clientIdentifier},
                                 {QStringLiteral("stateIdentifier"), stateIdentifier},
                                 {QStringLiteral("accessToken"), parser.value(token)},
                                 {QStringLiteral("autoplaySteps"), parser.values(autoplay)},
                                 {QStringLiteral("screenshotFile"), screenshotFile}});
    engine.load(QUrl(QStringLiteral("qrc:/qt/qml/ChatExample/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;
    return app.exec();
}
