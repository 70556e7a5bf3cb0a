#include "core/timer.h"
int casty__wheel_init(casty_wheel *w, uint64_t n, uint64_t t){(void)n;(void)t;w->head.next=w->head.prev=&w->head;return 0;}
void casty__wheel_destroy(casty_wheel *w){(void)w;}
void casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg){t->next=t->prev=NULL;t->fn=fn;t->arg=arg;t->flags=0;}
void casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t d){t->deadline_ns=d;casty_timer *p=w->head.next;while(p!=&w->head&&p->deadline_ns<=d)p=p->next;t->next=p;t->prev=p->prev;p->prev->next=t;p->prev=t;t->flags=1;}
void casty__wheel_cancel(casty_wheel *w, casty_timer *t){(void)w;if(!t->flags)return;t->prev->next=t->next;t->next->prev=t->prev;t->flags=0;}
uint64_t casty__wheel_next_deadline(casty_wheel *w){return w->head.next==&w->head?UINT64_MAX:w->head.next->deadline_ns;}
uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now, uint32_t max){uint32_t n=0;while(n<max&&w->head.next!=&w->head&&w->head.next->deadline_ns<=now){casty_timer *t=w->head.next;casty__wheel_cancel(w,t);t->fn(t,t->arg);n++;}return n;}
