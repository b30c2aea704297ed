<?php
/*
 * Laravel's illuminate/database (Debian's php-illuminate-database) over PgPool or pdo_pgsql:
 *   php laravel.php pgpool|pgsql
 * Migrations-style DDL (Schema builder), CRUD through the query builder and Eloquent,
 * transactions, nested transactions (savepoints), and what Laravel asks of PDO on the way
 * (lastInsertId via RETURNING, json, dates, booleans). Prints every result; the last line is
 * "ok" when the checks below held. tests/integration/laravel.sh compares the two modes.
 */
require '/usr/share/php/Illuminate/Database/autoload.php';

use Illuminate\Database\Capsule\Manager as Capsule;
use Illuminate\Database\Connectors\PostgresConnector;
use Illuminate\Database\Eloquent\Model;
use Illuminate\Database\Schema\Blueprint;

$mode = $argv[1] ?? 'pgpool';
$dsn = getenv('PGPOOL_TEST_DSN');
preg_match('/host=([^;]+)/', $dsn, $h);
preg_match('/port=([^;]+)/', $dsn, $p);
preg_match('/dbname=([^;]+)/', $dsn, $d);

$capsule = new Capsule();
$capsule->addConnection([
    'driver' => 'pgsql', 'host' => $h[1], 'port' => $p[1], 'database' => $d[1],
    'username' => getenv('PGPOOL_TEST_USER'), 'password' => getenv('PGPOOL_TEST_PASSWORD'),
    'charset' => 'utf8', 'prefix' => '', 'sslmode' => 'prefer',
]);
if ($mode === 'pgpool') {
    /* The setup of docs/COMPATIBILITY.md (Frameworks): Laravel's pgsql connector, creating a PgPool. */
    $capsule->getContainer()->bind('db.connector.pgsql', fn () => new class extends PostgresConnector {
        protected function createPdoConnection($dsn, $username, $password, $options)
        {
            return new PgPool($dsn, $username, $password, $options);
        }
    });
}
$capsule->setAsGlobal();
$capsule->bootEloquent();
$db = $capsule->getConnection();
$failures = 0;
function check(string $what, $got, $want): void
{
    global $failures;
    $ok = $got === $want;
    $failures += $ok ? 0 : 1;
    echo ($ok ? 'ok   ' : 'FAIL '), $what, ': ', json_encode($got), $ok ? '' : ' (expected ' . json_encode($want) . ')', "\n";
}

echo "pdo class: ", get_class($db->getPdo()), " driver name: ", $db->getPdo()->getAttribute(PDO::ATTR_DRIVER_NAME), "\n";

/* migrations-style DDL */
$schema = $capsule->schema();
$schema->dropIfExists('lv_posts');
$schema->dropIfExists('lv_users');
$schema->create('lv_users', function (Blueprint $t) {
    $t->increments('id');
    $t->string('name');
    $t->string('email')->unique();
    $t->boolean('active')->default(true);
    $t->json('prefs')->nullable();
    $t->timestamps();
});
$schema->create('lv_posts', function (Blueprint $t) {
    $t->bigIncrements('id');
    $t->unsignedInteger('user_id');
    $t->foreign('user_id')->references('id')->on('lv_users')->onDelete('cascade');
    $t->string('title', 100);
    $t->text('body')->nullable();
    $t->decimal('score', 8, 2)->default(0);
    $t->softDeletes();
    $t->timestamps();
    $t->index(['user_id', 'title']);
});
$schema->table('lv_users', function (Blueprint $t) {
    $t->string('nickname')->nullable()->after('name');
});
check('tables exist', [$schema->hasTable('lv_users'), $schema->hasTable('lv_posts'), $schema->hasColumn('lv_users', 'nickname')], [true, true, true]);
check('columns', $schema->getColumnListing('lv_users'), ['id', 'name', 'email', 'active', 'prefs', 'created_at', 'updated_at', 'nickname']);

/* CRUD with the query builder */
$id = $db->table('lv_users')->insertGetId(['name' => 'Ann', 'email' => 'ann@example.com', 'prefs' => json_encode(['a' => 1])]);
check('insertGetId', $id, 1);
$db->table('lv_users')->insert([
    ['name' => 'Bob', 'email' => 'bob@example.com', 'active' => false],
    ['name' => 'Cid', 'email' => 'cid@example.com', 'active' => true],
]);
check('count', $db->table('lv_users')->count(), 3);
check('where active', $db->table('lv_users')->where('active', true)->orderBy('id')->pluck('name')->all(), ['Ann', 'Cid']);
check('whereIn + first', $db->table('lv_users')->whereIn('email', ['bob@example.com'])->first()->name, 'Bob');
check('update', $db->table('lv_users')->where('name', 'Bob')->update(['nickname' => 'bobby', 'active' => true]), 1);
check('json path', $db->table('lv_users')->where('prefs->a', 1)->value('name'), 'Ann');
check('upsert', $db->table('lv_users')->upsert([['name' => 'Ann2', 'email' => 'ann@example.com']], ['email'], ['name']), 1);
check('raw aggregate', (int) $db->table('lv_users')->selectRaw('count(*) filter (where active) as c')->value('c'), 3);
foreach ([1, 2, 3] as $uid) {
    foreach (['first', 'second'] as $n => $title) {
        $db->table('lv_posts')->insert(['user_id' => $uid, 'title' => "$title by $uid", 'score' => $uid + $n / 2]);
    }
}
check('join', $db->table('lv_posts')->join('lv_users', 'lv_users.id', '=', 'lv_posts.user_id')
    ->where('lv_users.name', 'Cid')->orderBy('lv_posts.id')->pluck('title')->all(), ['first by 3', 'second by 3']);
check('groupBy having', $db->table('lv_posts')->select('user_id', $db->raw('sum(score) as s'))->groupBy('user_id')
    ->having($db->raw('sum(score)'), '>', 3)->orderBy('user_id')->get()->map(fn ($r) => [$r->user_id, (string) $r->s])->all(), [[2, '4.50'], [3, '6.50']]);
$chunks = [];
$db->table('lv_posts')->orderBy('id')->chunk(4, function ($rows) use (&$chunks) { $chunks[] = count($rows); });
check('chunk', $chunks, [4, 2]);
check('delete', $db->table('lv_posts')->where('score', '<', 1.5)->delete(), 1);
check('exists', [$db->table('lv_posts')->where('user_id', 1)->exists(), $db->table('lv_posts')->where('user_id', 9)->exists()], [true, false]);

/* transactions */
$db->transaction(function () use ($db) {
    $db->table('lv_users')->insert(['name' => 'Dee', 'email' => 'dee@example.com']);
});
try {
    $db->transaction(function () use ($db) {
        $db->table('lv_users')->insert(['name' => 'Eve', 'email' => 'eve@example.com']);
        throw new RuntimeException('roll back');
    });
} catch (RuntimeException $e) {
}
check('transaction commit/rollback', $db->table('lv_users')->whereIn('name', ['Dee', 'Eve'])->pluck('name')->all(), ['Dee']);
/* nested transactions: savepoints */
$db->beginTransaction();
$db->table('lv_users')->insert(['name' => 'Fay', 'email' => 'fay@example.com']);
$db->beginTransaction();
check('transaction level', $db->transactionLevel(), 2);
$db->table('lv_users')->insert(['name' => 'Gus', 'email' => 'gus@example.com']);
$db->rollBack();
$db->beginTransaction();
$db->table('lv_users')->insert(['name' => 'Hal', 'email' => 'hal@example.com']);
$db->commit();
try {
    $db->transaction(function () use ($db) {
        $db->table('lv_users')->insert(['name' => 'Ivy', 'email' => 'fay@example.com']); /* duplicate */
    });
} catch (Illuminate\Database\QueryException $e) {
    check('duplicate key in a savepoint', $e->errorInfo[0], '23505');
}
$db->commit();
check('after nested', $db->table('lv_users')->whereIn('name', ['Fay', 'Gus', 'Hal', 'Ivy'])->orderBy('name')->pluck('name')->all(), ['Fay', 'Hal']);
check('transaction level after', $db->transactionLevel(), 0);

/* Eloquent */
class LvUser extends Model
{
    protected $table = 'lv_users';
    protected $guarded = [];
    protected $casts = ['active' => 'boolean', 'prefs' => 'array'];
    public function posts() { return $this->hasMany(LvPost::class, 'user_id'); }
}
class LvPost extends Model
{
    use Illuminate\Database\Eloquent\SoftDeletes;
    protected $table = 'lv_posts';
    protected $guarded = [];
    protected $casts = ['score' => 'float'];
}
$u = LvUser::create(['name' => 'Jo', 'email' => 'jo@example.com', 'prefs' => ['theme' => 'dark']]);
check('eloquent create', [$u->id > 0, $u->exists], [true, true]);
$u->posts()->create(['title' => 'hello', 'score' => 2.25]);
$found = LvUser::with('posts')->where('email', 'jo@example.com')->first();
check('eloquent relation', [$found->prefs, $found->active, $found->posts->pluck('title')->all(), $found->posts[0]->score], [['theme' => 'dark'], true, ['hello'], 2.25]);
$found->posts[0]->delete();
check('soft delete', [LvPost::where('title', 'hello')->count(), LvPost::withTrashed()->where('title', 'hello')->count()], [0, 1]);
$found->update(['nickname' => 'jj']);
check('eloquent update', LvUser::find($found->id)->nickname, 'jj');
check('timestamps', $found->fresh()->updated_at instanceof DateTimeInterface, true);

$schema->drop('lv_posts');
$schema->drop('lv_users');
check('dropped', $schema->hasTable('lv_users'), false);
if ($mode === 'pgpool') {
    echo "leases held after the work: ", pgpool_stats('main')['active'] - ($db->getPdo()->inTransaction() ? 1 : 0), "\n";
}
echo $failures === 0 ? "ok\n" : "$failures checks failed\n";
