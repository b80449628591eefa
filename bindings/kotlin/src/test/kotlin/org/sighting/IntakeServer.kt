package org.sighting

import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files

/**
 * A real intake server for the tests: `sighting-server keygen` makes the organisation's keys,
 * `sighting-server serve` runs on a free loopback port with a temporary data directory.
 */
class IntakeServer : AutoCloseable {
    val dir: File = Files.createTempDirectory("sighting-intake").toFile()
    val recipient: String
    val serverKey: String
    val bulletinKey: String
    val url: String
    private val binary = System.getProperty("sighting.server") ?: error("sighting.server is not set")
    private val org = File(dir, "org")
    private val desk = File(dir, "desk")
    private val process: Process

    init {
        run(binary, "keygen", "--out", org.path)
        recipient = File(org, "recipient.txt").readText().trim()
        serverKey = File(org, "server.pub").readText().trim()
        bulletinKey = File(org, "bulletin.pub").readText().trim()
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        process = ProcessBuilder(
            binary, "serve", "--data", File(dir, "data").path,
            "--listen", "127.0.0.1:$port", "--key", File(org, "server.key").path,
            "--bulletin-key", File(org, "bulletin.pub").path,
        ).redirectErrorStream(true).redirectOutput(File(dir, "server.log")).start()
        repeat(200) {
            try {
                Socket("127.0.0.1", port).close()
                return@repeat
            } catch (e: java.io.IOException) {
                Thread.sleep(25)
            }
        }
    }

    /** The ciphertext files the server has filed (one per delivered report). */
    fun received(): List<String> =
        File(dir, "data/reports").listFiles().orEmpty()
            .map { it.name }.filter { it.endsWith(".age") }.map { it.removeSuffix(".age") }.sorted()

    /**
     * The organisation's side with the real CLI: a case manager publishes each case (number,
     * lat, lon), closes `close`, and pushes the signed bulletin feed here.
     */
    fun publish(cases: List<Triple<String, Double, Double>>, close: List<String> = emptyList()) {
        if (!desk.exists()) {
            val add = ProcessBuilder(
                binary, "desk-user", "add", "--state", desk.path, "--name", "chen", "--role", "case_manager",
            ).redirectErrorStream(true).start()
            add.outputStream.use { it.write("a long desk password\n".toByteArray()) }
            add.inputStream.readBytes()
            check(add.waitFor() == 0) { "desk-user add failed" }
        }
        // Acting as chen takes chen's passphrase (in a file, as a script gives it).
        val passphrase = File(dir, "chen.pass").apply { writeText("a long desk password\n") }
        val case = arrayOf(
            binary, "case", "--state", desk.path, "--as", "chen", "--passphrase-file", passphrase.path,
        )
        for ((number, lat, lon) in cases) {
            run(
                *case, "add", "--number", number, "--first-name", "Lin", "--sex", "boy",
                "--age-when-missing", "7", "--missing-since", "2026-05-20", "--district", "Centrum",
                "--lat", "$lat", "--lon", "$lon", "--marks", "scar on the left hand",
                "--police-reference", "P-2026-1",
            )
            run(*case, "consent", "--number", number)
            run(*case, "photo", "--number", number, "--file", fixture("gps/DSCN0012.jpg").path)
            run(*case, "publish", "--number", number)
        }
        for (number in close) run(*case, "close", "--number", number)
        run(
            binary, "bulletins", "publish", "--state", desk.path,
            "--key", File(org, "bulletin.key").path, "--intake", url,
        )
    }

    override fun close() {
        process.destroy()
        process.waitFor()
        dir.deleteRecursively()
    }

    private fun run(vararg command: String) {
        val p = ProcessBuilder(*command).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor() == 0) { "${command.joinToString(" ")} failed: $out" }
    }
}

/** The shared fixture photos (`SIGHTING_FIXTURES`, else ../shared/fixtures/photos). */
fun fixture(name: String): File {
    val dir = System.getenv("SIGHTING_FIXTURES")?.let(::File)
        ?: File(System.getProperty("user.dir"), "../../../shared/fixtures/photos")
    return File(dir, name).also { check(it.exists()) { "fixture $it not found" } }
}
