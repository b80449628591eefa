package org.sighting.app

import android.content.Context
import android.net.ConnectivityManager
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import org.sighting.SightingException

/**
 * Runs one sync inside WorkManager's limit (the core's budget stops it in time), then refreshes
 * the missing-children list.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = applicationContext.sighting
        // No connectivity service to ask: treat the network as metered (Wi-Fi-only reporters wait).
        val metered = applicationContext.getSystemService(ConnectivityManager::class.java)?.isActiveNetworkMetered ?: true
        val summary = app.client().sync(app.settings().backgroundBudget(seconds = 25, meteredNow = metered))
        // The missing-children list comes along, for the area asked for last time; a failure
        // keeps the list held (the core verifies everything before keeping anything).
        try {
            app.client().refreshBulletins(null)
        } catch (e: SightingException) {
            // Shown on the list's screen at its next update; nothing to do in the background.
        }
        // Anything paused or waiting is retried by WorkManager's own backoff and the periodic run.
        return if (summary.retrying.isEmpty() && summary.paused.isEmpty()) Result.success() else Result.retry()
    }

    companion object {
        private fun constraints(context: Context) = Constraints.Builder()
            .setRequiredNetworkType(
                if (context.sighting.settings().wifiOnly) NetworkType.UNMETERED else NetworkType.CONNECTED,
            ).build()

        /** Right after submit: expedited, unique (a second submit joins the same run). */
        fun now(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(constraints(context))
                .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork("sync-now", ExistingWorkPolicy.KEEP, request)
        }

        /** The fallback: every 30 minutes while anything waits (cheap when nothing does). */
        fun schedule(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(30, TimeUnit.MINUTES)
                .setConstraints(constraints(context)).build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork("sync-periodic", ExistingPeriodicWorkPolicy.UPDATE, request)
        }
    }
}
