package dev.tessera.deploy;

import dev.tessera.deploy.cli.BenchCommand;
import dev.tessera.deploy.cli.CheckpointCommand;
import dev.tessera.deploy.cli.CoordinatorCommand;
import dev.tessera.deploy.cli.GenerateCommand;
import dev.tessera.deploy.cli.StatusCommand;
import dev.tessera.deploy.cli.UpCommand;
import dev.tessera.deploy.cli.VerifyCommand;
import dev.tessera.deploy.cli.WorkerCommand;
import dev.tessera.deploy.cli.ZooKeeperCommand;
import dev.tessera.worker.backend.BackendLostException;
import dev.tessera.worker.backend.cuda.CudaException;
import dev.tessera.worker.checkpoint.CheckpointException;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The one launcher: {@code tessera <command>}. The shell script of the same name builds the jar and starts this. */
@Command(name = "tessera", mixinStandardHelpOptions = true, version = "tessera 0.1.0",
        description = "Serve gpt-oss on your own GPU cluster, from the JVM.",
        subcommands = {UpCommand.class, GenerateCommand.class, ZooKeeperCommand.class, CoordinatorCommand.class,
                WorkerCommand.class, StatusCommand.class, VerifyCommand.class, CheckpointCommand.class, BenchCommand.class,
                dev.tessera.client.loadtest.LoadTestCommand.class,
                CommandLine.HelpCommand.class})
public final class TesseraMain {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command tree, with errors users can act on printed as one line instead of a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new TesseraMain());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof BackendLostException) {  // a device that failed, not a user's mistake: 3, as WorkerCommand
                commandLine.getErr().println(commandLine.getCommandName() + ": the device is lost: " + e.getMessage());
                return 3;
            }
            if (e instanceof IllegalArgumentException || e instanceof IllegalStateException
                    || e instanceof CheckpointException || e instanceof IOException || e instanceof UncheckedIOException
                    || e instanceof CudaException) {  // e.g. out of device memory while loading weights
                commandLine.getErr().println(commandLine.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }
}
