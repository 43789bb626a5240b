// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qdir.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtextstream.h>
#include <QtGui/qguiapplication.h>
#include <QtQml/qqmlapplicationengine.h>
#include <QtQml/qqmlcomponent.h>
#include <QtQuickControls2/qquickstyle.h>

#include <memory>

namespace {
// Window index (from 0) saves its screenshot to FILE, the next ones to FILE-2.png etc.
QString screenshotFileOf(const QString &file, int index)
{
    if (file.isEmpty() || index == 0)
        return file;
    const QFileInfo info(file);
    return info.dir().filePath(QStringLiteral("%1-%2.%3")
                                       .arg(info.completeBaseName())
                                       .arg(index + 1)
                                       .arg(info.suffix()));
}
} // namespace

int main(int argc, char *argv[])
{
    QGuiApplication app(argc, argv);
    app.setApplicationName(QStringLiteral("statesync-editor"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "A collaborative editor on a shared QStateSync state: a title, a body and a\n"
            "checklist that several windows edit at once, each showing who edits what.\n"
            "Serve the document yourself with --serve, or join any QStateSync server."));
    parser.addHelpOption();
    const QCommandLineOption url(QStringLiteral("url"),
                                 QStringLiteral("Server URL (default ws://127.0.0.1:5000); with "
                                                "--serve, where to listen (port 0: any)."),
                                 QStringLiteral("URL"), QStringLiteral("ws://127.0.0.1:5000"));
    const QCommandLineOption name(QStringLiteral("name"),
                                  QStringLiteral("Your client identifier; repeat it to name "
                                                 "each window (default: random guest names)."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption windows(QStringLiteral("windows"),
                                     QStringLiteral("Open N windows, each its own client "
                                                    "(default: one per --name, at least 1)."),
                                     QStringLiteral("N"));
    const QCommandLineOption document(QStringLiteral("state"),
                                      QStringLiteral("The state to edit (default document)."),
                                      QStringLiteral("ID"), QStringLiteral("document"));
    const QCommandLineOption token(QStringLiteral("token"),
                                   QStringLiteral("Access token, for servers that ask for one."),
                                   QStringLiteral("TOKEN"));
    const QCommandLineOption serve(QStringLiteral("serve"),
                                   QStringLiteral("Also serve the document from this process, "
                                                  "at the --url's address."));
    const QCommandLineOption autoplay(
            QStringLiteral("autoplay"),
            QStringLiteral("A demo step for the first window, repeatable, played in order: "
                           "title:TEXT, body:TEXT (\\n for a new line), add:TEXT, draft:TEXT, "
                           "toggle:ITEM, remove:ITEM, focus:title|body|checklist, wait:TEXT "
                           "(until the document contains TEXT)."),
            QStringLiteral("STEP"));
    const QCommandLineOption screenshot(
            QStringLiteral("screenshot"),
            QStringLiteral("When the autoplay steps of this window and of everyone else "
                           "editing are played, save the window to FILE and quit."),
            QStringLiteral("FILE"));
    parser.addOptions({url, name, windows, document, token, serve, autoplay, screenshot});
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
    const QString stateIdentifier = parser.value(document);
    // Declared after the engine, so it goes away first.
    std::unique_ptr<QObject> server;
    if (parser.isSet(serve)) {
        QQmlComponent component(&engine,
                                QUrl(QStringLiteral("qrc:/qt/qml/EditorExample/Server.qml")));
        server.reset(component.createWithInitialProperties(
                {{QStringLiteral("host"), serverUrl.host()},
                 {QStringLiteral("port"), serverUrl.port(5000)},
                 {QStringLiteral("documentIdentifier"), stateIdentifier}}));
        if (!server || !server->property("listening").toBool()) {
            QTextStream(stderr) << "cannot serve on " << serverUrl.toString() << ": "
                                << (server ? server->property("errorString").toString()
                                           : component.errorString())
                                << Qt::endl;
            return 1;
        }
        // With port 0 the server picked one: the windows and any script need the real URL.
        serverUrl = server->property("url").toUrl();
        QTextStream(stdout) << "serving " << stateIdentifier << " on " << serverUrl.toString()
                            << Qt::endl;
    }

    QStringList names = parser.values(name);
    const int windowCount
            = qMax(1, parser.isSet(windows) ? parser.value(windows).toInt() : int(names.size()));
    while (names.size() < windowCount) {
        names.append(
                QStringLiteral("guest-%1").arg(QRandomGenerator::global()->bounded(1000, 10000)));
    }
    const QString screenshotFile = parser.isSet(screenshot)
            ? QDir::current().absoluteFilePath(parser.value(screenshot))
            : QString();
    for (int index = 0; index < windowCount; ++index) {
        // Side by side, so that every window of one process is in view.
        engine.setInitialProperties(
                {{QStringLiteral("serverUrl"), serverUrl},
                 {QStringLiteral("clientIdentifier"), names.at(index)},
                 {QStringLiteral("stateIdentifier"), stateIdentifier},
                 {QStringLiteral("accessToken"), parser.value(token)},
                 {QStringLiteral("autoplaySteps"),
                  index == 0 ? parser.values(autoplay) : QStringList()},
                 {QStringLiteral("screenshotFile"), screenshotFileOf(screenshotFile, index)},
                 {QStringLiteral("x"), 40 + index * 660},
                 {QStringLiteral("y"), 40}});
        engine.load(QUrl(QStringLiteral("qrc:/qt/qml/EditorExample/Main.qml")));
        if (engine.rootObjects().size() != index + 1)
            return 1;
    }
    return app.exec();
}
