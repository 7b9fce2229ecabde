/*
 * test_atomic.c - pte cells: random sequences of the SMP pte operations on a
 * library cell and on a plain value through the reference, which must agree
 * step for step; then two threads racing ptep_get_and_clear against the
 * dirty-bit trap, which must never lose an update.
 */
#include <pthread.h>

#include "vipt.h"
#include "ref.h"

static void sequences(void)
{
	uint64_t seed = 7, ref, v, got;
	struct vipt_pte_cell *cell;
	int step, round, a, b;

	for (round = 0; round < 2000; round++) {
		ref = next_random(&seed) & 0xffffffffULL;
		CHECK(vipt_pte_cell_new(ref, &cell) == 0, "%s", vipt_last_error());
		for (step = 0; step < 64; step++) {
			uint64_t r = next_random(&seed);

			switch (r % 7) {
			case 0:
				CHECK(vipt_ptep_get_and_clear(cell, &got) == 0, "%s", "gac");
				CHECK(got == ref32_ptep_get_and_clear(&ref), "got %#llx",
				      (unsigned long long)got);
				break;
			case 1:
				a = vipt_ptep_test_and_clear_young(cell);
				b = ref32_ptep_test_and_clear_young(&ref);
				CHECK(a == b, "young %d %d", a, b);
				break;
			case 2:
				a = vipt_ptep_test_and_clear_dirty(cell);
				b = ref32_ptep_test_and_clear_dirty(&ref);
				CHECK(a == b, "dirty %d %d", a, b);
				break;
			case 3:
				CHECK(vipt_ptep_set_wrprotect(cell) == 0, "%s", "wrprotect");
				ref32_ptep_set_wrprotect(&ref);
				break;
			case 4:
				a = vipt_dirty_trap(cell, &got);
				b = ref32_dirty_trap(&ref);
				CHECK((a == 0) == (b == 0), "trap %d %d", a, b);
				break;
			case 5:
				ref = (r >> 8) & 0xffffffffULL;
				CHECK(vipt_set_pte_at(cell, ref) == 0, "%s", "set");
				break;
			default:
				ref |= 0x200;	/* make it present again now and then */
				CHECK(vipt_set_pte_at(cell, ref) == 0, "%s", "set");
				break;
			}
			CHECK(vipt_pte_cell_load(cell, &v) == 0 && v == ref,
			      "round %d step %d: cell %#llx ref %#llx", round, step,
			      (unsigned long long)v, (unsigned long long)ref);
		}
		CHECK(vipt_pte_cell_free(cell) == 0, "%s", "free");
	}
}

#define RACE_ROUNDS	3000

static struct vipt_pte_cell *race_cell;
static pthread_barrier_t start, done;

static void *trapper(void *arg)
{
	uint64_t out;
	int i;

	(void)arg;
	for (i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(&start);
		(void)vipt_dirty_trap(race_cell, &out);
		pthread_barrier_wait(&done);
	}
	return NULL;
}

static void race(void)
{
	const uint64_t present = (0x1234ULL << 12) | VIPT_PAGE_SHARED;
	pthread_t t;
	uint64_t old, now;
	int i;

	CHECK(vipt_pte_cell_new(present, &race_cell) == 0, "%s", vipt_last_error());
	pthread_barrier_init(&start, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	pthread_create(&t, NULL, trapper, NULL);
	for (i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(&start);
		vipt_ptep_get_and_clear(race_cell, &old);
		pthread_barrier_wait(&done);
		vipt_pte_cell_load(race_cell, &now);
		/* What is left is exactly the cleared form of what was taken. */
		CHECK(now == ((old & ~(uint64_t)VIPT_PAGE_PRESENT) | VIPT_PAGE_FLUSH),
		      "round %d: old %#llx now %#llx", i, (unsigned long long)old,
		      (unsigned long long)now);
		vipt_set_pte_at(race_cell, present);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	CHECK(vipt_pte_cell_free(race_cell) == 0, "%s", "free");
}

int main(void)
{
	sequences();
	race();
	return report("test_atomic");
}
